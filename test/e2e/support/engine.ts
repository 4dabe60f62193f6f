// Finding a Docker engine for the e2e tests, or starting a private one.
//
// Order: a user's engine (DOCKER_HOST, else /var/run/docker.sock) when it
// answers; else, as root with dockerd on PATH, a private dockerd in a temp dir;
// else none, with a reason that says which of these was missing.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { isRunning, killOnExit, makeTempDir, run, sleep, stopChild, tailFile, which } from './proc.js';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Debian's 20.10 client when installed: it does BuildKit builds and `docker manifest`. */
export function findDockerClient(): string | undefined {
  return existsSync('/usr/bin/docker') ? '/usr/bin/docker' : which('docker');
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
  /** Storage driver in use (private engine: overlay2, or vfs when overlay2 fails). */
  storageDriver: string;
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

async function storageDriver(docker: string, dockerHost: string): Promise<string> {
  const r = await run(docker, ['info', '--format', '{{.Driver}}'], { env: clientEnv({ dockerHost }), timeoutMs: 15_000 });
  return r.code === 0 ? r.stdout.trim() : 'unknown';
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
    storageDriver: await storageDriver(docker, dockerHost),
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

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
function mountsBelow(dir: string): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

// Directories that dockerd 20.10 / its containerd / runc create outside
// --data-root and --exec-root whatever the flags say (shim sockets, plugin
// sockets, runc state used by BuildKit's executor). Listed deepest first;
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
  // engine, and so the daemon's key.json is not written to /etc/docker.
  const configFile = join(dir, 'daemon.json');
  await writeFile(configFile, JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json') }, null, 2) + '\n');
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
    for (const m of mountsBelow(dir)) {
      const r = await run('umount', [m]);
      if (r.code !== 0) await run('umount', ['-l', m]);
    }
    if (process.env.MKIMAGES_E2E_KEEP !== '1') await rm(dir, { recursive: true, force: true });
    for (const d of HOST_DIRS) {
      if (hostDirsBefore.has(d)) continue;
      await rmdir(d).catch(() => {});
    }
  };

  // overlay2 first; vfs (slow, copies every layer) only when overlay2 cannot
  // start here, e.g. on a filesystem without d_type or nested overlay.
  for (const driver of ['overlay2', 'vfs']) {
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
        storageDriver: driver,
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
