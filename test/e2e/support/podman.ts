// podman for the e2e tests, with storage of its own: a user's podman images,
// containers and networks are never touched, and teardown deletes it all.
//
// A generated Makefile runs `$(DOCKER)` as one word, so podman is handed to it
// as a wrapper script, `<binDir>/podman`, which execs the real podman with the
// run's --root/--runroot and its own config files:
//
//   storage.conf     overlay driver, graphroot/runroot in the private dir
//   containers.conf  cgroupfs and file events (no systemd or journald here),
//                    host network for RUN steps and containers (no CNI bridge,
//                    no iptables), ulimits podman may set without
//                    CAP_SYS_RESOURCE, tmp_dir/volume_path/network_config_dir
//                    in the private dir
//   registries.conf  127.0.0.1 and localhost insecure (plain HTTP) on any port,
//                    no unqualified-search registries (no prompt, no Docker Hub)
//   auth.json        REGISTRY_AUTH_FILE, so `podman login` writes no /run/containers
//
// registries.conf's `location = "127.0.0.1"` also matches "127.0.0.1:<port>"
// (containers/image matches a host prefix followed by ':'), so the registries
// tests start later need no entry of their own: `podman push` to them works
// with or without --tls-verify=false.
//
// Outside the private dir podman 4.3 still writes its blob-info cache
// (/var/lib/containers/cache, digests and where they were seen, no images) and
// may create an empty /run/runc, which stop() removes when it was not there before.

import { chmod, mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, run, unmountBelow, which } from './proc.js';

export const PODMAN_BIN = '/usr/bin/podman';

export interface Podman {
  /** The wrapper script (`<binDir>/podman`): use it as `DOCKER=` or run it directly. */
  path: string;
  /** The real podman binary the wrapper execs. */
  real: string;
  /** `podman --version`'s number, e.g. "4.3.1". */
  version: string;
  /** The private directory: storage/, run/, the config files. */
  dir: string;
  /**
   * The global flags and environment the wrapper adds, for running `real`
   * directly (or another containers/image tool: skopeo and buildah read the
   * same CONTAINERS_* files).
   */
  args: string[];
  env: Record<string, string>;
  /** Removes every image and container and deletes the private directory (kept with MKIMAGES_E2E_KEEP=1). */
  stop(): Promise<void>;
}

/** The podman binary on PATH (or /usr/bin/podman), undefined when not installed. */
export function findPodman(path = process.env.PATH ?? ''): string | undefined {
  return which('podman', path) ?? (existsSync(PODMAN_BIN) ? PODMAN_BIN : undefined);
}

/** Single-quotes `s` for sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Hard limit of this process for a /proc/self/limits row ("Max open files"), or undefined. */
function hardLimit(row: string): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(row));
    const hard = line?.slice(row.length).trim().split(/\s+/)[1];
    return hard === undefined || hard === 'unlimited' ? undefined : Number(hard);
  } catch {
    return undefined;
  }
}

// Host directories podman/runc may create whatever the flags say; removed
// after the run when they were not there before and are empty.
const HOST_DIRS = ['/run/runc', '/run/containers/0', '/run/containers', '/run/libpod'];

/**
 * Writes the private config and the wrapper `<binDir>/podman`; checks that
 * podman answers with it. `real` defaults to the podman on PATH.
 */
export async function startPodman(opts: { binDir: string; real?: string }): Promise<Podman> {
  const real = opts.real ?? findPodman();
  if (!real) throw new Error('podman not installed (Debian package podman; run scripts/install-e2e-deps.sh as root)');
  const hostDirsBefore = new Set(HOST_DIRS.filter((d) => existsSync(d)));
  const dir = await makeTempDir('mkimages-e2e-podman-');
  const storage = join(dir, 'storage');
  const runroot = join(dir, 'run');
  for (const d of [storage, runroot, join(dir, 'tmp'), join(dir, 'networks')]) await mkdir(d);

  const toml = JSON.stringify; // a JSON string is a valid TOML basic string
  await writeFile(
    join(dir, 'storage.conf'),
    ['[storage]', 'driver = "overlay"', `graphroot = ${toml(storage)}`, `runroot = ${toml(runroot)}`, ''].join('\n'),
  );
  // Without CAP_SYS_RESOURCE (as on this machine) podman's default ulimits
  // (nofile and nproc 1048576) cannot be set and `podman run` fails with
  // "error setting rlimit type 7: operation not permitted"; stay at or below
  // the hard limits this process has. (RUN steps of `podman build` are not
  // affected.)
  const nofile = Math.min(hardLimit('Max open files') ?? 1_048_576, 1_048_576);
  const nproc = Math.min(hardLimit('Max processes') ?? 4096, 4096);
  await writeFile(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      'netns = "host"',
      `default_ulimits = [${toml(`nofile=${nofile}:${nofile}`)}, ${toml(`nproc=${nproc}:${nproc}`)}]`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${toml(join(dir, 'events.log'))}`,
      `tmp_dir = ${toml(join(dir, 'tmp'))}`,
      `volume_path = ${toml(join(storage, 'volumes'))}`,
      '[network]',
      `network_config_dir = ${toml(join(dir, 'networks'))}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'registries.conf'),
    [
      'unqualified-search-registries = []',
      '[[registry]]',
      'location = "127.0.0.1"',
      'insecure = true',
      '[[registry]]',
      'location = "localhost"',
      'insecure = true',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'auth.json'), '{"auths":{}}\n');

  const env: Record<string, string> = {
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
  };
  const args = ['--root', storage, '--runroot', runroot, '--runtime-flag', `root=${join(dir, 'runc')}`];
  const path = join(opts.binDir, 'podman');
  await writeFile(
    path,
    [
      '#!/bin/sh',
      '# podman with the private storage and config of one mkimages e2e run',
      ...Object.entries(env).map(([k, v]) => `${k}=${shQuote(v)}; export ${k}`),
      `exec ${shQuote(real)} ${args.map(shQuote).join(' ')} "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(path, 0o755);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Stop containers first so that their mounts go; then whatever is left
    // mounted below dir (overlay layers, the bind mount podman puts on
    // storage/overlay) is unmounted, so that rm does not fail with EBUSY.
    await run(path, ['rm', '--all', '--force', '--time', '0'], { timeoutMs: 60_000 }).catch(() => undefined);
    await unmountBelow(dir);
    if (process.env.MKIMAGES_E2E_KEEP !== '1') await rm(dir, { recursive: true, force: true });
    await rm(path, { force: true });
    for (const d of HOST_DIRS) {
      if (!hostDirsBefore.has(d)) await rmdir(d).catch(() => {});
    }
  };

  const v = await run(path, ['--version'], { timeoutMs: 30_000 });
  const info = await run(path, ['info', '--format', '{{.Store.GraphRoot}}'], { timeoutMs: 60_000 });
  if (v.code !== 0 || info.code !== 0 || info.stdout.trim() !== storage) {
    await stop();
    throw new Error(
      `podman with private storage does not work: ${path} info gave ${info.code}: ${(info.stdout + info.stderr).trim()}`,
    );
  }
  // "podman version 4.3.1"
  const version = v.stdout.trim().split(/\s+/).pop() ?? 'unknown';
  return { path, real, version, dir, args, env, stop };
}
