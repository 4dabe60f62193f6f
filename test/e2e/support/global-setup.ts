// vitest globalSetup for the `e2e` project (see vitest.config.ts).
//
// Picks a Docker engine (a user's own, else a private dockerd, else none: see
// engine.ts), starts one registry for general use, creates the base images,
// sets up podman with private storage (podman.ts), and hands all of it to the
// test files as inject('e2e') (context.ts).
// Without an engine the tests are skipped with the reason, except under
// CI=true, where the run fails instead; under CI=true buildx, podman and the
// qemu-aarch64 binfmt handler are required too (scripts/install-e2e-deps.sh
// installs and enables them).
//
// The returned teardown stops what setup started and removes what it created;
// on a user's engine it removes only images whose name carries this run's id.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { binfmtEnabled, createBaseImages } from './base-image.js';
import type { E2EContext } from './context.js';
import { chooseEngine, clientEnv, findDockerClient, type Engine } from './engine.js';
import { removeImagesMatching } from './images.js';
import { findPodman, startPodman, type Podman } from './podman.js';
import { makeTempDir, which } from './proc.js';
import { startRegistry, type Registry } from './registry.js';

const log = (msg: string): void => console.log(`[e2e] ${msg}`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** A DOCKER_HOST that is not on this machine cannot reach our 127.0.0.1 registries. */
function isRemoteHost(dockerHost: string): boolean {
  const m = /^(?:tcp|ssh|https?):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)/.exec(dockerHost);
  if (!m?.[1]) return false;
  return !['localhost', '127.0.0.1', '[::1]'].includes(m[1]) && !m[1].startsWith('127.');
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  // Lowercase hex: valid in image names and repository paths.
  const runId = randomBytes(4).toString('hex');

  const choice = await chooseEngine();
  if ('skipReason' in choice) {
    if (process.env.CI === 'true') {
      throw new Error(`e2e: ${choice.skipReason}. CI=true, so the e2e tests may not be skipped.`);
    }
    console.warn(`\n[e2e] SKIPPING the e2e tests: ${choice.skipReason}\n`);
    const skipped: E2EContext = {
      skipReason: choice.skipReason,
      docker: findDockerClient() ?? 'docker',
      engineKind: '',
      clientVersion: '',
      engineVersion: '',
      storageDriver: '',
      containerdStore: false,
      hasBuildx: false,
      qemuArm64: binfmtEnabled('qemu-aarch64'),
      dockerConfig: '',
      binDir: '',
      buildFlags: '',
      baseImage: '',
      baseImageMulti: '',
      registry: '',
      runId,
    };
    project.provide('e2e', skipped);
    return async () => {};
  }

  const engine: Engine = choice.engine;
  const ci = process.env.CI === 'true';
  let registry: Registry | undefined;
  let podman: Podman | undefined;
  let clientDir: string | undefined;
  const dockerConfigOf = (dir: string): string => join(dir, 'docker-config');

  // Safe to call at any point of a half-finished setup.
  const teardown = async (): Promise<void> => {
    const t = Date.now();
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<unknown>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
      }
    };
    if (engine.kind === 'user') {
      // A private engine's images go with its data-root; on a user's engine,
      // remove every image named with this run's id (ours and the tests').
      await attempt(() =>
        removeImagesMatching(
          engine.docker,
          clientEnv({ dockerHost: engine.dockerHost, dockerConfig: clientDir && dockerConfigOf(clientDir) }),
          (ref) => ref.includes(runId),
        ),
      );
    }
    if (podman) await attempt(() => podman!.stop());
    if (registry) await attempt(() => registry!.stop());
    await attempt(() => engine.stop());
    if (clientDir) await attempt(() => rm(clientDir!, { recursive: true, force: true }));
    log(`teardown done in ${seconds(Date.now() - t)}`);
    if (errors.length) throw new AggregateError(errors, 'e2e teardown had errors');
  };

  try {
    const store = engine.containerdStore ? `containerd store, ${engine.storageDriver}` : engine.storageDriver;
    log(
      engine.kind === 'private'
        ? `private dockerd ${engine.engineVersion} (${store}) at ${engine.dockerHost}, answered after ${seconds(engine.startMs ?? 0)}`
        : `using the engine ${engine.engineVersion} at ${engine.dockerHost} (${store})`,
    );
    log(`client ${engine.docker} ${engine.clientVersion}, buildx ${engine.hasBuildx ? engine.buildxVersion : 'not working'}`);
    const qemuArm64 = binfmtEnabled('qemu-aarch64');
    const realPodman = findPodman();
    const missing = [
      ...(engine.hasBuildx ? [] : [`docker buildx (with ${engine.docker})`]),
      ...(realPodman ? [] : ['podman']),
      ...(qemuArm64 ? [] : ['the qemu-aarch64 binfmt_misc handler (enabled)']),
    ];
    if (missing.length && ci) {
      throw new Error(`e2e: missing ${missing.join(', ')}; run scripts/install-e2e-deps.sh as root. CI=true, so the e2e tests may not go without.`);
    }
    if (missing.length) console.warn(`[e2e] missing ${missing.join(', ')} (scripts/install-e2e-deps.sh as root installs them); tests that need them will fail`);
    if (engine.kind === 'user' && isRemoteHost(engine.dockerHost)) {
      console.warn(`[e2e] DOCKER_HOST=${engine.dockerHost} looks remote: it cannot reach registries on this machine's 127.0.0.1`);
    }

    clientDir = await makeTempDir('mkimages-e2e-client-');
    const dockerConfig = dockerConfigOf(clientDir);
    const binDir = join(clientDir, 'bin');
    await mkdir(dockerConfig);
    await mkdir(binDir);
    await symlink(engine.docker, join(binDir, 'docker'));
    if (realPodman) {
      const tp = Date.now();
      podman = await startPodman({ binDir, real: realPodman });
      log(`podman ${podman.version} with private storage in ${podman.dir} (${seconds(Date.now() - tp)})`);
    }

    const tr = Date.now();
    registry = await startRegistry();
    log(`registry ${registry.host} answered after ${seconds(Date.now() - tr)}`);

    const tb = Date.now();
    const base = await createBaseImages({
      docker: engine.docker,
      dockerHost: engine.dockerHost,
      dockerConfig,
      registry: registry.host,
      runId,
      hasBuildx: engine.hasBuildx,
    });
    log(`base images ${base.baseImage} and ${base.baseImageMulti} made in ${seconds(Date.now() - tb)}`);

    const cosign = existsSync('/usr/bin/cosign') ? '/usr/bin/cosign' : which('cosign');
    const ctx: E2EContext = {
      docker: engine.docker,
      engineKind: engine.kind,
      clientVersion: engine.clientVersion,
      engineVersion: engine.engineVersion,
      storageDriver: engine.storageDriver,
      containerdStore: engine.containerdStore,
      hasBuildx: engine.hasBuildx,
      ...(engine.buildxVersion === undefined ? {} : { buildxVersion: engine.buildxVersion }),
      ...(podman ? { podman: podman.path, podmanVersion: podman.version } : {}),
      ...(cosign ? { cosign } : {}),
      qemuArm64,
      dockerHost: engine.dockerHost,
      dockerConfig,
      binDir,
      buildFlags: engine.buildFlags,
      baseImage: base.baseImage,
      baseImageMulti: base.baseImageMulti,
      registry: registry.host,
      runId,
    };
    project.provide('e2e', ctx);
    log(`setup done in ${seconds(Date.now() - t0)} (runId ${runId})`);
  } catch (e) {
    await teardown().catch(() => {});
    throw e;
  }
  return teardown;
}
