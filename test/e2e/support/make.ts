// Runs make on a generated Makefile against the run's engine, with the
// recording docker wrapper, and returns what docker was asked to do.
// `client` chooses what the recording wrapper runs: the run's docker (the
// default), the podman wrapper (e2e.podman), or a fault-injecting wrapper
// around either (makeFaultClient in fault-docker.ts).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../support/tree.js';
import { e2eEnv, run, useE2E, type RunResult } from './e2e.js';

export const RECORDING_DOCKER = join(PROJECT_ROOT, 'test/support/recording-docker');

export interface MakeResult extends RunResult {
  /** Every docker call, arguments single-quoted, in order. */
  calls: string[];
  /** The build calls among them. */
  builds: string[];
  /** The push calls (docker push, manifest push, imagetools create, buildx build --push). */
  pushes: string[];
}

export interface MakeOptions {
  root: string;
  registry: string;
  localPrefix: string;
  /** The client the recording wrapper runs (REAL_DOCKER); default: the run's docker. */
  client?: string;
  env?: NodeJS.ProcessEnv;
}

export async function makeIn(o: MakeOptions, ...args: string[]): Promise<MakeResult> {
  const e2e = useE2E();
  const log = join(o.root, `docker-${process.pid}.log`);
  writeFileSync(log, '');
  const r = await run(
    'make',
    ['--no-print-directory', '-C', o.root, `DOCKER=${RECORDING_DOCKER}`, `REGISTRY=${o.registry}`, `LOCAL_PREFIX=${o.localPrefix}`, `BUILD_FLAGS=${e2e.buildFlags}`, ...args],
    // BuildKit's SBOM scanner image comes from Docker Hub, out of reach here:
    // the buildx path attests provenance alone unless a test says otherwise.
    { env: e2eEnv({ ATTEST: 'provenance', REAL_DOCKER: o.client ?? e2e.docker, DOCKER_LOG: log, ...o.env }) },
  );
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return {
    ...r,
    calls,
    builds: calls.filter((c) => /^'build'|^'buildx' 'build'/.test(c)),
    pushes: calls.filter((c) => /^'push'|^'manifest' 'push'|^'buildx' 'imagetools' 'create'|^'buildx' 'build' .*'(--push|--output=type=registry[^']*)'/.test(c)),
  };
}
