// Where make's time goes on the generated Makefile:
//   node dist/bench/profile-make.js [--images N] [--present N,N] [--runs R] [--no-callgrind]
// (a few minutes with the defaults: callgrind runs make ~50x slower, and the
// no-op at 1,000 present images takes ~13 s a run today)
//
// 1. `make -n build-all-images` on N images (default 1,000): the full run,
//    parsing alone (an empty goal), and the run with each recipe macro
//    (`\t$(call NAME,...)` recipe lines, found in the file) replaced by `@:`,
//    so the difference is what expanding that macro costs. CPU time (min of
//    R) and, when valgrind is installed, instructions (callgrind Ir), which
//    other work on the machine does not disturb.
// 2. The no-op `make build-all-images` with every image present, against a
//    stateful fake docker client (builds and tags go into a list that
//    `image ls` prints), at the sizes of --present (default 100,1000): the
//    full run, and with the freshness check emptied (check-fresh= on the
//    command line), with the number of processes make started (strace, when
//    installed).
//
// Trees are written under os.tmpdir() and removed.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticTree } from './tree.js';

const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const CLI = join(PROJECT_ROOT, 'dist/generator/cli.js');

/** A docker client with state: build -t and tag add names to the list `image ls` prints. */
const STATEFUL_FAKE_DOCKER = `#!/bin/sh
# Stateful fake docker for profiling make: no engine, but images "exist" once built or tagged.
state=\${FAKE_STATE:?}
touch "$state"
case "$1 \${2:-}" in
  "buildx version") exit 1 ;;
  "image ls"|"images "*) cat "$state"; exit 0 ;;
esac
case "$1" in
  build|buildx)
    id="sha256:$(printf '%s' "$*" | sha256sum | cut -c1-12)"
    prev=""
    for a in "$@"; do
      [ "$prev" = "-t" ] && printf '%s@%s\\n' "$a" "$id" >>"$state"
      prev=$a
    done
    exit 0 ;;
  tag)
    id=$(grep -F -- "$2@" "$state" | head -n 1 | sed 's/.*@//')
    [ -n "$id" ] || { echo "no such image: $2" >&2; exit 1; }
    printf '%s@%s\\n' "$3" "$id" >>"$state"
    exit 0 ;;
esac
exit 0
`;

const hasTool = (t: string) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;

interface Measure {
  wallMs: number;
  cpuMs: number;
}

function makeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', ...extra };
  for (const v of ['MAKEFLAGS', 'MFLAGS', 'REGISTRY', 'LOCAL_PREFIX', 'PLATFORMS', 'OS', 'ARCH', 'DOCKER', 'BUILDER']) delete env[v];
  return { ...env, ...extra };
}

/** min wall and min CPU over `runs` runs of make (via /usr/bin/time when present). */
function timeMake(root: string, args: string[], runs: number, env: NodeJS.ProcessEnv): Measure {
  const walls: number[] = [];
  const cpus: number[] = [];
  const out = join(root, '.time');
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = existsSync('/usr/bin/time')
      ? spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', out, 'make', '--no-print-directory', '-C', root, ...args], { env, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 })
      : spawnSync('make', ['--no-print-directory', '-C', root, ...args], { env, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
    walls.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`make ${args.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
    if (existsSync(out)) {
      const [u, s] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      cpus.push((u + s) * 1000);
    }
  }
  return { wallMs: Math.min(...walls), cpuMs: cpus.length ? Math.min(...cpus) : NaN };
}

/** Instructions executed by make (callgrind), in millions. */
function instructions(root: string, args: string[], env: NodeJS.ProcessEnv): number {
  const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', 'make', '--no-print-directory', '-C', root, ...args], { env, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`callgrind gave no count: ${r.stderr.slice(-500)}`);
  return Number(m[1]) / 1e6;
}

/** Processes started by make and its children (strace -f), or NaN without strace. */
function execCount(root: string, args: string[], env: NodeJS.ProcessEnv): number {
  if (!hasTool('strace')) return NaN;
  const r = spawnSync('strace', ['-f', '-c', '-e', 'trace=execve', 'make', '--no-print-directory', '-C', root, ...args], { env, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  // "% time  seconds  usecs/call  calls  [errors]  syscall": calls is the fourth column.
  const line = r.stderr.split('\n').find((l) => /\sexecve\s*$/.test(l));
  return line ? Number(line.trim().split(/\s+/)[3]) : NaN;
}

/** The recipe macros of the generated Makefile: `\t$(call NAME,` at the start of a recipe line. */
function recipeMacros(mk: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of mk.matchAll(/^\t\$\(call ([A-Za-z0-9_.-]+),/gm)) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  return counts;
}

function stub(mk: string, names: string[]): string {
  return mk.replace(/^\t\$\(call ([A-Za-z0-9_.-]+),.*$/gm, (line, name: string) => (names.includes(name) ? '\t@:' : line));
}

function writeTree(images: number, buildable: boolean): string {
  const root = mkdtempSync(join(tmpdir(), `mkbench-make-${images}-`));
  writeSyntheticTree(root, { images, files: 8, fileSize: 2048, buildable });
  const r = spawnSync(process.execPath, [CLI, '--root', root], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`generator failed: ${r.stderr}`);
  return root;
}

function arg(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
}

function main(argv: string[]): void {
  const n = Number(arg(argv, '--images', '1000'));
  const present = arg(argv, '--present', '100,1000').split(',').filter(Boolean).map(Number);
  const runs = Number(arg(argv, '--runs', '3'));
  const callgrind = !argv.includes('--no-callgrind') && hasTool('valgrind');
  const roots: string[] = [];
  const fmt = (m: Measure, ir?: number) => `${m.wallMs.toFixed(0).padStart(6)} ms wall ${m.cpuMs.toFixed(0).padStart(6)} ms cpu${ir !== undefined ? ` ${ir.toFixed(0).padStart(7)} M instr` : ''}`;
  try {
    // 1. make -n build-all-images
    const root = writeTree(n, false);
    roots.push(root);
    const fake = join(root, 'fake-docker');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n');
    chmodSync(fake, 0o755);
    const mk = readFileSync(join(root, 'generated/images.mk'), 'utf8');
    const macros = recipeMacros(mk);
    const env = makeEnv();
    console.log(`make -n build-all-images, ${n} images (images.mk ${(mk.length / 1e6).toFixed(1)} MB, ${mk.split('\n').length} lines), min of ${runs}${callgrind ? '; instructions from callgrind' : ' (install valgrind for instruction counts)'}:`);
    const variants: Array<[string, string | undefined, string[]]> = [
      ['full', undefined, ['-n', 'build-all-images', `DOCKER=${fake}`]],
      ['parse only (empty goal)', mk + '\n.PHONY: mkbench-nothing\nmkbench-nothing: ;\n', ['mkbench-nothing']],
      ['every recipe macro stubbed', stub(mk, [...macros.keys()]), ['-n', 'build-all-images', `DOCKER=${fake}`]],
      ...[...macros.keys()].map((name): [string, string, string[]] => [`${name} stubbed (${macros.get(name)} recipes)`, stub(mk, [name]), ['-n', 'build-all-images', `DOCKER=${fake}`]]),
    ];
    const base: { m?: Measure; ir?: number } = {};
    for (const [label, text, args] of variants) {
      if (text !== undefined) writeFileSync(join(root, 'variant.mk'), text);
      const a = text !== undefined ? ['-f', 'variant.mk', ...args] : args;
      const m = timeMake(root, a, runs, env);
      const ir = callgrind ? instructions(root, a, env) : undefined;
      if (label === 'full') Object.assign(base, { m, ir });
      // Instructions are what to compare: CPU and wall times move with the machine's other work.
      const saved =
        label === 'full' || !base.m
          ? ''
          : ir !== undefined && base.ir !== undefined
            ? `   full minus this: ${(base.ir - ir).toFixed(0).padStart(5)} M instr (${(((base.ir - ir) / base.ir) * 100).toFixed(0)} %)`
            : `   full minus this: ${(base.m.cpuMs - m.cpuMs).toFixed(0)} ms cpu`;
      console.log(`  ${label.padEnd(44)} ${fmt(m, ir)}${saved}`);
    }

    // 2. the no-op build against a stateful fake engine
    for (const p of present) {
      const r2 = writeTree(p, true);
      roots.push(r2);
      const fd = join(r2, 'stateful-docker');
      writeFileSync(fd, STATEFUL_FAKE_DOCKER);
      chmodSync(fd, 0o755);
      const env2 = makeEnv({ FAKE_STATE: join(r2, 'images.state') });
      const args = ['-s', 'build-all-images', `DOCKER=${fd}`, 'LOCAL_PREFIX=mkbench.local/l', 'REGISTRY=mkbench.local/r'];
      const first = spawnSync('make', ['--no-print-directory', '-C', r2, ...args], { env: env2, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
      if (first.status !== 0) throw new Error(`first (fake) build failed: ${first.stderr.slice(-2000)}`);
      const state = readFileSync(join(r2, 'images.state'), 'utf8').split('\n').filter(Boolean).length;
      console.log(`\nno-op make build-all-images, ${p} images present (${state} local names in the fake engine), min of ${runs}:`);
      const full = timeMake(r2, args, runs, env2);
      console.log(`  ${'full'.padEnd(44)} ${fmt(full)}   ${execCount(r2, args, env2)} processes started`);
      // The freshness check runs while make parses ($(call check-fresh,...) in the plan): emptied from the command line.
      const a = [...args, 'check-fresh='];
      const m = timeMake(r2, a, runs, env2);
      console.log(`  ${'freshness check stubbed (check-fresh=)'.padEnd(44)} ${fmt(m)}   ${execCount(r2, a, env2)} processes started`);
    }
  } finally {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  }
}

main(process.argv.slice(2));
