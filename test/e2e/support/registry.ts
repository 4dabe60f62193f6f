// Throwaway Docker registries (Debian's docker-registry, distribution 2.8) on
// 127.0.0.1, for global setup and for test files alike: a test that needs an
// "upstream", a staging registry and a mirror starts three and stops them in
// afterAll.
//
// Docker treats 127.0.0.0/8 as an insecure registry by default, so plain HTTP
// works for `docker push`/`pull` and BuildKit `FROM` without any daemon config.
// `docker manifest create` still needs `--insecure` (see infra.test.ts).

import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, isRunning, killOnExit, makeTempDir, sleep, stopChild, tailFile } from './proc.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface RegistryOptions {
  /**
   * Run as a pull-through cache of this upstream URL (e.g.
   * `http://127.0.0.1:5001`). Registry 2.8 refuses pushes in proxy mode.
   */
  proxyRemoteUrl?: string;
  /** How long to wait for `GET /v2/` to answer 200 (default 20 s). */
  startTimeoutMs?: number;
}

export interface Registry {
  /** `127.0.0.1:<port>`, to put in image references. */
  host: string;
  /** The registry's log (access log included), for error messages. */
  logFile: string;
  /** Stops the registry and deletes its storage (kept when MKIMAGES_E2E_KEEP=1). */
  stop(): Promise<void>;
}

function configYaml(dataDir: string, port: number, opts: RegistryOptions): string {
  // JSON strings are valid YAML scalars, which sidesteps quoting questions.
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(dataDir)}`,
    // Lets tests delete manifests (DELETE /v2/<repo>/manifests/<digest>).
    '  delete:',
    '    enabled: true',
    // No background upload purging: nothing runs long enough to need it.
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    // A fixed secret silences the "No HTTP secret provided" warning.
    '  secret: mkimages-e2e',
  ];
  if (opts.proxyRemoteUrl) {
    lines.push('proxy:', `  remoteurl: ${JSON.stringify(opts.proxyRemoteUrl)}`);
  }
  return lines.join('\n') + '\n';
}

/** Answers true once `GET http://host/v2/` is 200. */
async function answers(host: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  if (!existsSync(REGISTRY_BIN)) {
    throw new Error(`${REGISTRY_BIN} not found (Debian package docker-registry; run scripts/install-e2e-deps.sh as root)`);
  }
  const dir = await makeTempDir('mkimages-e2e-reg-');
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'config.yml');
  const logFile = join(dir, 'registry.log');
  await mkdir(dataDir);

  // freePort() leaves a small window for another process to take the port; a
  // registry that then fails to bind exits at once, and we retry on a new port.
  let lastError = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    await writeFile(configFile, configYaml(dataDir, port, opts));
    const logFd = openSync(logFile, 'a');
    const child = spawn(REGISTRY_BIN, ['serve', configFile], { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    killOnExit(child);

    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    while (isRunning(child) && Date.now() < deadline && !(await answers(host))) await sleep(50);

    if (isRunning(child) && (await answers(host))) {
      let stopped = false;
      return {
        host,
        logFile,
        async stop(): Promise<void> {
          if (stopped) return;
          stopped = true;
          await stopChild(child, 5_000);
          if (process.env.MKIMAGES_E2E_KEEP !== '1') await rm(dir, { recursive: true, force: true });
        },
      };
    }
    await stopChild(child, 2_000);
    lastError = `registry on ${host} did not answer GET /v2/ (attempt ${attempt}); log tail:\n${tailFile(logFile)}`;
    if (!/address already in use/.test(tailFile(logFile, 5))) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(lastError);
}
