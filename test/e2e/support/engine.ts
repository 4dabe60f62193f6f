// Finding a Docker engine for the e2e tests, or starting a private one.
//
// Order: a user's engine (DOCKER_HOST, else /var/run/docker.sock) when it
// answers; else, as root with dockerd on PATH, a private dockerd in a temp dir
// (Debian trixie's 26.1, with the containerd image store); else none, with a
// reason that says which of these was missing.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { isRunning, killOnExit, makeTempDir, run, sleep, stopChild, tailFile, unmountBelow, which } from './proc.js';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** True when `<docker> buildx version` works (the buildx CLI plugin is found). */
export function clientHasBuildx(docker: string): boolean {
  const r = spawnSync(docker, ['buildx', 'version'], { stdio: 'ignore', timeout: 15_000 });
  return r.status === 0;
}

/**
 * The docker client to test with: the first of /usr/bin/docker (Debian's
 * docker-cli 26.1) and the `docker` on PATH that has the buildx plugin (on this
 * machine /usr/local/bin/docker 28.x comes first on PATH; both find Debian's
 * plugin in /usr/libexec/docker/cli-plugins). Without any buildx, the first
 * client found; undefined when there is none.
 */
export function findDockerClient(): string | undefined {
  const candidates = [...new Set(['/usr/bin/docker', which('docker')])].filter(
    (c): c is string => c !== undefined && existsSync(c),
  );
  return candidates.find(clientHasBuildx) ?? candidates[0];
}

/** Environment for running the docker client against `dockerHost`. */
export function clientEnv(
  c: { dockerHost?: string; dockerConfig?: string },
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A DOCKER_CONTEXT would otherwise compete with DOCKER_HOST for the choice.
  delete env.DOCKER_CONTEXT;
  if (c.dockerHost) env.DOCKER_HOST = c.dockerHost;
  else delete env.DOCKER_HOST;
  if (c.dockerConfig) env.DOCKER_CONFIG = c.dockerConfig;
  return { ...env, ...extra };
}

export interface Engine {
  kind: 'user' | 'private';
  docker: string;
  dockerHost: string;
  buildFlags: string;
  /**
   * Storage driver as `docker info` names it: with the containerd image store
   * the snapshotter (private engine: overlayfs, or native when overlayfs
   * fails), else the graph driver (overlay2, vfs...).
   */
  storageDriver: string;
  /** The engine keeps images in containerd (driver-type io.containerd.snapshotter.v1). */
  containerdStore: boolean;
  /** `docker version` Server.Version, e.g. "26.1.5+dfsg1". */
  engineVersion: string;
  /** `docker version` Client.Version of `docker`. */
  clientVersion: string;
  /** `docker buildx` works against this engine (plugin found, default builder answers). */
  hasBuildx: boolean;
  /** buildx's version, e.g. "0.13.1+ds1"; undefined without buildx. */
  buildxVersion?: string;
  /** Time from spawning dockerd to its first answer (private engine only). */
  startMs?: number;
  /** Stops a private engine and deletes its files; a no-op for a user's engine. */
  stop(): Promise<void>;
}

export type EngineChoice = { engine: Engine } | { skipReason: string };

async function answersVersion(docker: string, dockerHost: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const r = await run(docker, ['version', '--format', '{{.Server.Version}}'], {
      env: clientEnv({ dockerHost }),
      timeoutMs: 15_000,
    });
    const detail = (r.code === 0 ? r.stdout : r.stderr).trim().split('\n')[0] ?? '';
    return { ok: r.code === 0, detail };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

/**
 * '--network=host' when the engine has no default `bridge` network (dockerd
 * --bridge=none, like the private engine): a RUN step on the default network
 * then fails with "network bridge not found". '' otherwise.
 */
async function buildFlagsFor(docker: string, dockerHost: string): Promise<string> {
  const r = await run(docker, ['network', 'ls', '--filter', 'driver=bridge', '--format', '{{.Name}}'], {
    env: clientEnv({ dockerHost }),
    timeoutMs: 15_000,
  });
  return r.code === 0 && r.stdout.split('\n').includes('bridge') ? '' : '--network=host';
}

/** What the tests need to know about an engine that answers, and about the client's buildx. */
export interface EngineFacts {
  storageDriver: string;
  containerdStore: boolean;
  engineVersion: string;
  clientVersion: string;
  hasBuildx: boolean;
  buildxVersion?: string;
}

export async function engineFacts(docker: string, dockerHost: string): Promise<EngineFacts> {
  const env = clientEnv({ dockerHost });
  const info = await run(docker, ['info', '--format', '{{.Driver}}\t{{json .DriverStatus}}'], { env, timeoutMs: 15_000 });
  const [driver = 'unknown', statusJson = 'null'] = info.code === 0 ? info.stdout.trim().split('\t') : [];
  let status: unknown = null;
  try {
    status = JSON.parse(statusJson);
  } catch {
    // an older client's format: leave it unknown
  }
  const containerdStore =
    Array.isArray(status) && status.some((kv) => Array.isArray(kv) && kv[0] === 'driver-type' && kv[1] === 'io.containerd.snapshotter.v1');
  // JSON: `docker version` pads a tab in --format output with spaces.
  const version = await run(docker, ['version', '--format', '{{json .}}'], { env, timeoutMs: 15_000 });
  let clientVersion = 'unknown';
  let engineVersion = 'unknown';
  try {
    const v = JSON.parse(version.stdout) as { Client?: { Version?: string }; Server?: { Version?: string } };
    clientVersion = v.Client?.Version ?? clientVersion;
    engineVersion = v.Server?.Version ?? engineVersion;
  } catch {
    // leave them unknown
  }
  // `buildx version` only finds the plugin; `buildx inspect` also reaches the
  // engine through the default (docker driver) builder.
  const bv = await run(docker, ['buildx', 'version'], { env, timeoutMs: 15_000 });
  const inspect = bv.code === 0 ? await run(docker, ['buildx', 'inspect'], { env, timeoutMs: 30_000 }) : bv;
  const hasBuildx = bv.code === 0 && inspect.code === 0;
  // "github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3"
  const buildxVersion = bv.code === 0 ? bv.stdout.trim().split(/\s+/)[1] : undefined;
  return { storageDriver: driver, containerdStore, engineVersion, clientVersion, hasBuildx, buildxVersion };
}

export async function chooseEngine(): Promise<EngineChoice> {
  const docker = findDockerClient();
  const install = 'run scripts/install-e2e-deps.sh as root';
  if (!docker) {
    return { skipReason: `no Docker engine: no docker client (/usr/bin/docker) installed (${install})` };
  }

  const envHost = process.env.DOCKER_HOST;
  if (envHost) {
    // The user chose an engine; never fall back to another one behind their back.
    const v = await answersVersion(docker, envHost);
    if (v.ok) return { engine: await userEngine(docker, envHost) };
    return { skipReason: `no Docker engine: DOCKER_HOST=${envHost} is set but \`${docker} version\` failed: ${v.detail}` };
  }

  const facts = ['DOCKER_HOST unset'];
  if (existsSync(DEFAULT_SOCKET)) {
    const host = `unix://${DEFAULT_SOCKET}`;
    const v = await answersVersion(docker, host);
    if (v.ok) return { engine: await userEngine(docker, host) };
    facts.push(`${DEFAULT_SOCKET} not answering (${v.detail})`);
  } else {
    facts.push(`${DEFAULT_SOCKET} absent`);
  }

  const dockerd = which('dockerd');
  const root = process.getuid?.() === 0;
  if (dockerd && root) return { engine: await startPrivateEngine(docker, dockerd) };
  if (!dockerd) facts.push('dockerd not installed (not on PATH)');
  if (!root) facts.push('not running as root, so no private dockerd can be started');
  return { skipReason: `no Docker engine: ${facts.join(', ')} (${install})` };
}

async function userEngine(docker: string, dockerHost: string): Promise<Engine> {
  return {
    kind: 'user',
    docker,
    dockerHost,
    buildFlags: await buildFlagsFor(docker, dockerHost),
    ...(await engineFacts(docker, dockerHost)),
    stop: async () => {},
  };
}

/** GET /_ping on a unix socket: true once dockerd serves its API. */
function pings(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

// Directories that dockerd / its managed containerd / runc create outside
// --data-root and --exec-root whatever the flags say (containerd 1.7's shim
// sockets in /run/containerd/s, plugin sockets, runc state). The managed
// containerd's own root and state are private: dockerd writes its
// containerd.toml with root = <data-root>/containerd/daemon and state =
// <exec-root>/containerd/daemon. Listed deepest first;
// those that did not exist before the engine started are rmdir'ed (only if
// empty) after it stops.
const HOST_DIRS = ['/run/containerd/s', '/run/containerd', '/run/docker/plugins', '/run/docker', '/run/runc'];

const DOCKERD_START_TIMEOUT_MS = 60_000;

async function startPrivateEngine(docker: string, dockerd: string): Promise<Engine> {
  const dir = await makeTempDir('mkimages-e2e-engine-');
  const socket = join(dir, 'docker.sock');
  const dockerHost = `unix://${socket}`;
  const logFile = join(dir, 'dockerd.log');
  const hostDirsBefore = new Set(HOST_DIRS.filter((d) => existsSync(d)));
  // Our own daemon.json, so that an /etc/docker/daemon.json cannot change the
  // engine, and so the daemon's key.json is not written to /etc/docker. The
  // containerd image store (the default of Docker Engine 29, opt-in before):
  // images live in the managed containerd, multi-platform images and
  // attestations can be stored, and `docker push` pushes what BuildKit made.
  const configFile = join(dir, 'daemon.json');
  const daemonJson = { 'deprecated-key-path': join(dir, 'key.json'), features: { 'containerd-snapshotter': true } };
  await writeFile(configFile, JSON.stringify(daemonJson, null, 2) + '\n');
  // dockerd looks up containerd, runc, docker-init and docker-proxy on PATH.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: [process.env.PATH ?? '', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].filter(Boolean).join(delimiter),
  };
  delete env.DOCKER_HOST;

  let child: ChildProcess | undefined;
  const failures: string[] = [];

  const cleanup = async (): Promise<void> => {
    if (child) await stopChild(child, 30_000);
    // A managed containerd normally exits with dockerd; make sure of it.
    const pidFile = join(dir, 'exec', 'containerd', 'containerd.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // dockerd leaves exec-root/netns/default (an nsfs bind mount) mounted,
    // which would make rm fail with EBUSY.
    await unmountBelow(dir);
    if (process.env.MKIMAGES_E2E_KEEP !== '1') await rm(dir, { recursive: true, force: true });
    for (const d of HOST_DIRS) {
      if (hostDirsBefore.has(d)) continue;
      await rmdir(d).catch(() => {});
    }
  };

  // With the containerd store --storage-driver names a containerd snapshotter:
  // overlayfs first; native (slow, copies every layer) only when overlayfs
  // cannot start here, e.g. on a filesystem without d_type or nested overlay.
  for (const driver of ['overlayfs', 'native']) {
    const dataRoot = join(dir, `data-${driver}`);
    await mkdir(dataRoot);
    const args = [
      `--config-file=${configFile}`,
      `--data-root=${dataRoot}`,
      `--exec-root=${join(dir, 'exec')}`,
      `--pidfile=${join(dir, 'dockerd.pid')}`,
      `--host=${dockerHost}`,
      // No docker0 bridge and no iptables/NAT rules on the host. Containers
      // then get --network=none or --network=host only.
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
      `--storage-driver=${driver}`,
    ];
    const logFd = openSync(logFile, 'a');
    const started = Date.now();
    child = spawn(dockerd, args, { env, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    killOnExit(child);

    const deadline = started + DOCKERD_START_TIMEOUT_MS;
    let ready = false;
    while (isRunning(child) && Date.now() < deadline) {
      if (await pings(socket)) {
        ready = true;
        break;
      }
      await sleep(100);
    }
    const startMs = Date.now() - started;
    if (ready) {
      const v = await answersVersion(docker, dockerHost);
      if (!v.ok) {
        await cleanup();
        throw new Error(`private dockerd answers /_ping but \`${docker} version\` failed: ${v.detail}`);
      }
      const engine: Engine = {
        kind: 'private',
        docker,
        dockerHost,
        buildFlags: '--network=host',
        ...(await engineFacts(docker, dockerHost)),
        startMs,
        stop: cleanup,
      };
      return engine;
    }
    if (isRunning(child)) {
      // Still running but silent: no point in trying another driver.
      const tail = tailFile(logFile);
      await cleanup();
      throw new Error(`private dockerd did not answer within ${DOCKERD_START_TIMEOUT_MS / 1000} s; log tail:\n${tail}`);
    }
    failures.push(`--storage-driver=${driver}: dockerd exited (${child.exitCode ?? child.signalCode})`);
    child = undefined;
  }
  const tail = tailFile(logFile);
  await cleanup();
  throw new Error(`private dockerd failed to start: ${failures.join('; ')}; log tail:\n${tail}`);
}
