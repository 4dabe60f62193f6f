// A fault-injecting container client for the e2e tests: a shell script that
// forwards every call to the real client (docker, or the podman wrapper) but
// fails the Nth call whose arguments match an extended regex, to see what a
// generated Makefile does when one step breaks half-way.
//
//   const fault = await makeFaultClient({ real: e2e.docker, failPattern: 'manifest push', dir });
//   await makeIn({ root, registry, localPrefix, client: fault.path }, 'push-foo');
//   fault.calls();   // every call, args joined by single spaces
//
// The script:
//  - joins its arguments with single spaces (newlines inside an argument
//    become spaces) and appends that line to `logFile`, failing call included;
//  - when the line matches `failPattern` (grep -E), adds one to a counter file
//    under flock(1), so "the Nth" holds across the many processes make starts
//    (and across make -j);
//  - on the `failNth` match (default 1) prints
//    "fault-docker: injected failure of <line>" to stderr and exits 1 without
//    running the real client; every other call execs the real client.
// Only that one call fails: later matches run normally.

import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shQuote } from './podman.js';

export interface FaultClientOptions {
  /** The client every call is forwarded to: a docker binary or the podman wrapper. */
  real: string;
  /**
   * Extended regular expression (grep -E) matched against the arguments joined
   * by single spaces, e.g. 'buildx build .*--platform linux/arm64',
   * 'manifest push', 'imagetools create'. Without it no call fails: the
   * wrapper only records.
   */
  failPattern?: string;
  /** Which matching call fails, counting from 1 (default 1). */
  failNth?: number;
  /** A directory for the script, its log and its counter (created if missing). */
  dir: string;
}

export interface FaultClient {
  /** The wrapper script: pass it as DOCKER=, or as makeIn's `client`. */
  path: string;
  /** One line per call, arguments joined by single spaces. */
  logFile: string;
  /** Every call so far, in order. */
  calls(): string[];
  /** How many calls matched failPattern so far (the failed one included). */
  matches(): number;
}

export async function makeFaultClient(opts: FaultClientOptions): Promise<FaultClient> {
  const failNth = opts.failNth ?? 1;
  if (!Number.isInteger(failNth) || failNth < 1) throw new Error(`makeFaultClient: failNth must be an integer >= 1, not ${failNth}`);
  if (opts.failPattern !== undefined && /[\n\r]/.test(opts.failPattern)) {
    throw new Error('makeFaultClient: failPattern must be one line');
  }
  if (!existsSync(opts.real)) throw new Error(`makeFaultClient: real client ${opts.real} not found`);
  await mkdir(opts.dir, { recursive: true });
  const path = join(opts.dir, 'fault-docker');
  const logFile = join(opts.dir, 'fault-docker.log');
  const counterFile = join(opts.dir, 'fault-docker.count');
  const patternFile = join(opts.dir, 'fault-docker.pattern');
  const lockFile = join(opts.dir, 'fault-docker.lock');
  await writeFile(logFile, '');
  await writeFile(counterFile, '0\n');
  // In a file of its own, so the pattern needs no quoting for sh.
  await writeFile(patternFile, opts.failPattern === undefined ? '' : `${opts.failPattern}\n`);

  const script = [
    '#!/bin/sh',
    '# fault-docker: forwards to the real client, fails one matching call (see test/e2e/support/fault-docker.ts)',
    `real=${shQuote(opts.real)}`,
    `log=${shQuote(logFile)}`,
    `counter=${shQuote(counterFile)}`,
    `pattern=${shQuote(patternFile)}`,
    `lock=${shQuote(lockFile)}`,
    `nth=${failNth}`,
    "IFS=' '",
    `line=$(printf '%s' "$*" | tr '\\n\\r' '  ')`,
    `printf '%s\\n' "$line" >>"$log"`,
    `if [ -s "$pattern" ] && printf '%s\\n' "$line" | grep -Eq -f "$pattern"; then`,
    `  n=$(flock "$lock" sh -c 'n=$(($(cat "$1") + 1)); echo "$n" >"$1"; echo "$n"' sh "$counter")`,
    '  if [ "$n" -eq "$nth" ]; then',
    `    printf 'fault-docker: injected failure of %s\\n' "$line" >&2`,
    '    exit 1',
    '  fi',
    'fi',
    'exec "$real" "$@"',
    '',
  ].join('\n');
  await writeFile(path, script);
  await chmod(path, 0o755);

  return {
    path,
    logFile,
    calls: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean),
    matches: () => Number(readFileSync(counterFile, 'utf8').trim()),
  };
}

/** The calls recorded in a fault client's log file (for a log read after the client object is gone). */
export async function readFaultLog(logFile: string): Promise<string[]> {
  return (await readFile(logFile, 'utf8')).split('\n').filter(Boolean);
}
