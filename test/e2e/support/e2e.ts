// What e2e test files import:
//
//   import { describeE2E, useE2E, dockerCmd } from './support/e2e.js';
//   describeE2E('push', () => {
//     const e2e = useE2E();
//     it('...', async () => { ... });
//   });
//
// The engine, registry and base images come from global-setup.ts; test files
// can start more registries with startRegistry() (re-exported here).

import { createHash } from 'node:crypto';
import { describe, inject } from 'vitest';
import type { E2EContext } from './context.js';
import { clientEnv } from './engine.js';
import { removeImagesMatching, withoutRegistry } from './images.js';
import { run, type RunOptions, type RunResult } from './proc.js';

export type { E2EContext } from './context.js';
export { run, runOk, type RunOptions, type RunResult } from './proc.js';
export { startRegistry, type Registry, type RegistryOptions } from './registry.js';
export { binfmtEnabled, canRunArch } from './base-image.js';
export { makeFaultClient, type FaultClient, type FaultClientOptions } from './fault-docker.js';

/** The context provided by global-setup.ts. */
export function useE2E(): E2EContext {
  return inject('e2e');
}

/**
 * `describe` when a Docker engine is there; otherwise `describe.skip`, with
 * the reason in the suite's name (global setup has already printed it).
 */
export function describeE2E(name: string, fn: () => void): void {
  const { skipReason } = useE2E();
  if (skipReason) describe.skip(`${name} [skipped: ${skipReason}]`, fn);
  else describe(name, fn);
}

/**
 * `<label>-<runId>`, lowercase: a name for an image or repository that is
 * unique to this run and is removed from a user's engine by teardown.
 */
export function uniqueName(label: string): string {
  return `${label.toLowerCase()}-${useE2E().runId}`;
}

/**
 * Environment for child processes that run docker (e.g. `make` on a generated
 * Makefile): DOCKER_HOST and DOCKER_CONFIG of the run, and PATH starting with
 * a directory whose `docker` is the run's client. DOCKER_BUILDKIT is left as
 * the caller has it, so the Makefile under test must ask for BuildKit itself.
 */
export function e2eEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e2e = useE2E();
  const base = clientEnv(e2e);
  // No attestations unless the caller asks (ATTEST in `extra`, as makeIn
  // does, or as a make argument): BuildKit's SBOM scanner comes from Docker
  // Hub, which this machine does not reach (see test/e2e/supply-chain.test.ts).
  return { ...base, ATTEST: '', PATH: `${e2e.binDir}:${base.PATH ?? ''}`, ...extra };
}

export interface DockerCmdOptions extends Omit<RunOptions, 'env'> {
  /** Added to (or, with undefined values, removed from) the client's environment. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs the run's docker client against the run's engine. Never throws on a
 * non-zero exit: check `code`. DOCKER_BUILDKIT=1 is set unless `env` overrides
 * it (a 20.10 client otherwise uses the classic builder; a 23+ client with
 * the buildx plugin builds with BuildKit either way).
 */
export function dockerCmd(args: readonly string[], opts: DockerCmdOptions = {}): Promise<RunResult> {
  const e2e = useE2E();
  const env = clientEnv(e2e, { DOCKER_BUILDKIT: '1' });
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return run(e2e.docker, args, { ...opts, env });
}

/** dockerCmd() that throws, with the command's output, on a non-zero exit. */
export async function dockerOk(args: readonly string[], opts: DockerCmdOptions = {}): Promise<RunResult> {
  const r = await dockerCmd(args, opts);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}\n${r.stdout}${r.stderr}`.trimEnd());
  return r;
}

/**
 * Runs the run's podman wrapper (private storage, see support/podman.ts).
 * Never throws on a non-zero exit. Throws when podman is not installed.
 */
export function podmanCmd(args: readonly string[], opts: DockerCmdOptions = {}): Promise<RunResult> {
  const e2e = useE2E();
  if (!e2e.podman) throw new Error('podman is not installed (run scripts/install-e2e-deps.sh as root)');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return run(e2e.podman, args, { ...opts, env });
}

/** podmanCmd() that throws, with the command's output, on a non-zero exit. */
export async function podmanOk(args: readonly string[], opts: DockerCmdOptions = {}): Promise<RunResult> {
  const r = await podmanCmd(args, opts);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}\n${r.stdout}${r.stderr}`.trimEnd());
  return r;
}

/**
 * Removes every local image whose reference starts with `prefix`, with or
 * without a registry host in front ("foo-ab12" matches "foo-ab12:1" and
 * "127.0.0.1:5000/foo-ab12/x:1"). Returns the references it removed. To keep a
 * user's images safe the prefix must contain the run's id.
 */
export function removeImagesWithPrefix(prefix: string): Promise<string[]> {
  const e2e = useE2E();
  if (!prefix.includes(e2e.runId)) {
    throw new Error(`removeImagesWithPrefix(${JSON.stringify(prefix)}): the prefix must contain the runId (${e2e.runId})`);
  }
  return removeImagesMatching(e2e.docker, clientEnv(e2e), (ref) => ref.startsWith(prefix) || withoutRegistry(ref).startsWith(prefix));
}

// ---- plain-HTTP registry queries -------------------------------------------

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.ociManifest,
].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

/** The parts of an index/list or an image manifest that tests look at. */
export interface ManifestBody {
  schemaVersion: number;
  mediaType?: string;
  /** Index / manifest list entries. */
  manifests?: Descriptor[];
  /** Image manifest parts. */
  config?: Descriptor;
  layers?: Descriptor[];
  annotations?: Record<string, string>;
}

export interface RegistryManifest {
  /** From Content-Type (falling back to the body's mediaType). */
  mediaType: string;
  /** Docker-Content-Digest, or the sha256 of the bytes when absent. */
  digest: string;
  body: ManifestBody;
  /** The manifest's bytes as served (the digest is over these). */
  raw: string;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** Tags of `repo` in the registry at `host`; [] when the repository does not exist. */
export async function registryTags(host: string, repo: string): Promise<string[]> {
  const res = await fetch(`http://${host}/v2/${repo}/tags/list`, { signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status === 404) return [];
  if (!res.ok) throw new RegistryError(`GET ${host}/v2/${repo}/tags/list: ${res.status} ${text}`, res.status);
  const tags = (JSON.parse(text) as { tags?: string[] | null }).tags ?? [];
  return [...tags].sort();
}

/**
 * The manifest `repo:ref` (ref: a tag or a digest) as the registry serves it
 * to a client that accepts OCI indexes/manifests and Docker lists/manifests.
 * Throws RegistryError (status 404 when absent).
 */
export async function registryManifest(host: string, repo: string, ref: string): Promise<RegistryManifest> {
  const url = `http://${host}/v2/${repo}/manifests/${ref}`;
  const res = await fetch(url, { headers: { Accept: MANIFEST_ACCEPT }, signal: AbortSignal.timeout(30_000) });
  const raw = await res.text();
  if (!res.ok) throw new RegistryError(`GET ${url}: ${res.status} ${raw}`, res.status);
  const body = JSON.parse(raw) as ManifestBody;
  const contentType = res.headers.get('content-type')?.split(';')[0]?.trim();
  return {
    mediaType: contentType || body.mediaType || '',
    digest: res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`,
    body,
    raw,
  };
}
