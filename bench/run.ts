// npm run bench [-- --quick] [-- --only gen|make|fresh|push|noop[,...]]
//
// Writes deterministic synthetic trees (bench/tree.ts) under os.tmpdir() and
// prints a table of medians against the performance targets (issues 11 and
// 13), each with pass or FAIL:
//
//   gen    node dist/generator/cli.js --root DIR (wall time incl. Node
//          start-up, CPU, peak RSS) at 100, 1,000 (8 files x 2 KB) and
//          10,000 images (4 x 1 KB), each run writing generated/ anew, in
//          turn with the read-and-sha256 floor (bench/floor.ts) on the same
//          tree: both wall times and their ratio; again over an up-to-date
//          generated/; through `npm run generate`; 1,000 with an image.yaml
//          in every folder
//   make   every kind of make call at 1,000 and 10,000 images, with the
//          stand-in client test/support/fake-docker as DOCKER (buildx
//          present, nothing published, nothing built unless said): list,
//          help (time and lines), plan one image (make -n build-/push-/
//          load-ONE), plan all (make -n build-all-images, push-all-images),
//          the no-op `make build-ONE` with ONE present (docker calls
//          counted); and at 100, make-time discovery (gVisor style) against
//          our list-all-images
//   fresh  `make -n build-ONE` with and without a 300 MB file in another
//          image's folder (20, 1,000 and 10,000 images): CPU and wall, and
//          the folders opened (strace)
//   push   the no-op `make -j4 push-all-images` of 100 published images:
//          against the stand-in (FAKE_DOCKER_PUBLISHED/LABELS), and against a
//          real registry (/usr/bin/docker-registry on 127.0.0.1, 100 images
//          written through its HTTP API) with the real buildx client; time
//          and registry calls
//   noop   with a Docker engine (the user's, else a private dockerd as root):
//          build 100 FROM-scratch images once, then time the no-op
//          `make build-all-images` and count docker client calls
//
// Every temp dir is removed at the end; a private engine and the registry are
// stopped, and the images built are removed by their unique prefix. Exit
// status 1 when a target is missed or a part fails. Profiling tools:
// bench/profile.ts (the generator) and bench/profile-make.ts (make); see
// bench/README.md.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { chooseEngine, clientEnv, clientHasBuildx, findDockerClient, type Engine } from '../test/e2e/support/engine.js';
import { removeImagesMatching } from '../test/e2e/support/images.js';
import { REGISTRY_BIN, startRegistry, type Registry } from '../test/e2e/support/registry.js';
import { fakeRegistryFiles, publishImages, type PublishedImage } from './publish.js';
import { writeSyntheticTree, type TreeOptions, type TreeSummary } from './tree.js';

const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const CLI = join(PROJECT_ROOT, 'dist/generator/cli.js');
const FLOOR = join(PROJECT_ROOT, 'dist/bench/floor.js');
// The Node flags `npm run generate` runs the CLI with (package.json), so the
// "node cli.js" rows measure the same process without npm's own start-up.
const NODE_FLAGS: string[] = (() => {
  const script = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.generate;
  const words = script.split(/\s+/);
  return words.slice(words.indexOf('node') + 1, words.indexOf('dist/generator/cli.js'));
})();
const RECORDING_DOCKER = join(PROJECT_ROOT, 'test/support/recording-docker');
const FAKE_DOCKER = join(PROJECT_ROOT, 'test/support/fake-docker');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const hasTool = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;

// ---------------------------------------------------------------------------
// Options

type Part = 'gen' | 'make' | 'fresh' | 'push' | 'noop';
const PARTS: Part[] = ['gen', 'make', 'fresh', 'push', 'noop'];

interface Config {
  quick: boolean;
  parts: Set<Part>;
  gen: Array<{ tree: TreeOptions; runs: number; label?: string }>;
  npmRuns: number;
  /** Trees for the make part, and runs of the calls that plan one image. */
  make: Array<{ tree: TreeOptions; runs: number; allRuns: number }>;
  baselineN: number[];
  baselineRuns: number;
  fresh: Array<{ tree: TreeOptions; runs: number }>;
  pushImages: number;
  pushRuns: number;
  noopImages: number;
  noopRuns: number;
}

/** The tree shapes: 8 files x 2 KB up to 1,000 images, 4 x 1 KB at 10,000. */
const shape = (images: number): TreeOptions => (images >= 10_000 ? { images, files: 4, fileSize: 1024 } : { images, files: 8, fileSize: 2048 });

function parseArgs(argv: string[]): Config {
  let quick = false;
  let parts = new Set<Part>(PARTS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      const want = (v ?? '').split(',').filter(Boolean);
      const bad = want.filter((w) => !(PARTS as string[]).includes(w));
      if (want.length === 0 || bad.length > 0) usage(`--only takes ${PARTS.join('|')} (comma-separated), found ${JSON.stringify(v ?? '')}`);
      parts = new Set(want as Part[]);
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  return quick
    ? {
        quick,
        parts,
        gen: [{ tree: shape(1000), runs: 3 }],
        npmRuns: 0,
        make: [{ tree: shape(1000), runs: 3, allRuns: 1 }],
        baselineN: [100],
        baselineRuns: 1,
        fresh: [{ tree: shape(20), runs: 3 }],
        pushImages: 100,
        pushRuns: 1,
        noopImages: 20,
        noopRuns: 3,
      }
    : {
        quick,
        parts,
        gen: [
          { tree: shape(100), runs: 5 },
          { tree: shape(1000), runs: 5 },
          // The same with image.yaml in every folder: YAML parsing is the costliest per-file step.
          { tree: { ...shape(1000), imageYaml: 1 }, runs: 3, label: 'image.yaml in every folder' },
          { tree: shape(10_000), runs: 3 },
        ],
        npmRuns: 3,
        make: [
          { tree: shape(1000), runs: 5, allRuns: 3 },
          { tree: shape(10_000), runs: 5, allRuns: 1 },
        ],
        baselineN: [100],
        baselineRuns: 3,
        fresh: [
          { tree: shape(20), runs: 5 },
          { tree: shape(1000), runs: 5 },
          { tree: shape(10_000), runs: 5 },
        ],
        pushImages: 100,
        pushRuns: 5,
        noopImages: 100,
        noopRuns: 5,
      };
}

function usage(problem?: string): never {
  const text = `usage: npm run bench [-- --quick] [-- --only ${PARTS.join('|')}[,...]]
  --quick  1,000 images only, fewer runs (a smoke run; 10,000-image targets are not judged)
  --only   run only these parts`;
  if (problem) {
    process.stderr.write(`bench: ${problem}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------
// Results

interface Row {
  measure: string;
  n: number | string;
  /** Median (seconds, MB, a count or a ratio), undefined when not measured. */
  value?: number;
  unit: 's' | 'MB' | 'calls' | 'lines' | 'x' | '';
  samples?: number[];
  /** Median CPU seconds (user + system, make and every process it started). */
  cpu?: number;
  target?: { op: '<=' | '>='; limit: number };
  /** The measure could not be taken because what it measures failed (a FAIL, not a SKIP). */
  failed?: boolean;
  note?: string;
}

const rows: Row[] = [];
const notes: string[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(v: number | undefined, unit: Row['unit']): string {
  if (v === undefined) return '-';
  switch (unit) {
    case 's':
      return `${v.toFixed(v < 10 ? 3 : 1)} s`;
    case 'MB':
      return `${v.toFixed(0)} MB`;
    case 'calls':
    case 'lines':
      return `${v} ${unit}`;
    case 'x':
      return `${v.toFixed(2)}x`;
    default:
      return String(v);
  }
}

function verdict(r: Row): string {
  if (r.failed) return 'FAIL';
  if (!r.target) return '';
  if (r.value === undefined) return 'SKIP';
  const ok = r.target.op === '<=' ? r.value <= r.target.limit : r.value >= r.target.limit;
  return ok ? 'pass' : 'FAIL';
}

function add(row: Row): Row {
  rows.push(row);
  const range = row.samples && row.samples.length > 1 ? ` (runs: ${row.samples.map((x) => fmt(x, row.unit)).join(', ')})` : '';
  const cpu = row.cpu !== undefined ? ` cpu ${fmt(row.cpu, 's')}` : '';
  log(`${row.measure} N=${row.n}: ${fmt(row.value, row.unit)}${cpu}${range}${row.note ? ` [${row.note}]` : ''}${row.target ? ` ${verdict(row)}` : ''}`);
  return row;
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function printTable(): void {
  const head = ['measure', 'N', 'median', 'min..max', 'cpu', 'target', 'result', 'note'];
  const right = new Set([2, 3, 4, 5]);
  const body = rows.map((r) => [
    r.measure,
    typeof r.n === 'number' ? r.n.toLocaleString('en-US') : r.n,
    fmt(r.value, r.unit),
    r.samples && r.samples.length > 1 ? `${fmt(Math.min(...r.samples), r.unit)}..${fmt(Math.max(...r.samples), r.unit)}` : '',
    r.cpu !== undefined ? fmt(r.cpu, 's') : '',
    r.target ? `${r.target.op} ${fmt(r.target.limit, r.unit)}` : '',
    verdict(r),
    r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`, ...body.map(line)];
  process.stdout.write(`\n${out.join('\n')}\n`);
  if (notes.length > 0) process.stdout.write(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  const failed = rows.filter((r) => verdict(r) === 'FAIL');
  const judged = rows.filter((r) => verdict(r) === 'pass' || verdict(r) === 'FAIL').length;
  process.stdout.write(`\n${judged - failed.length}/${judged} targets met${failed.length ? `; FAILED: ${failed.map((r) => `${r.measure} (N=${r.n})`).join('; ')}` : ''}\n`);
}

// ---------------------------------------------------------------------------
// Temp dirs and processes

const tempDirs = new Set<string>();
let engine: Engine | undefined;
let builtPrefix: string | undefined;
let registry: Registry | undefined;

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

async function cleanup(): Promise<void> {
  if (registry) {
    const r = registry;
    registry = undefined;
    await r.stop();
  }
  if (engine && builtPrefix) {
    const prefix = builtPrefix;
    builtPrefix = undefined;
    try {
      const removed = await removeImagesMatching(engine.docker, clientEnv(engine), (ref) => ref.startsWith(prefix));
      log(`removed ${removed.length} image reference(s) named ${prefix}*`);
    } catch (e) {
      log(`could not remove the images named ${prefix}*: ${(e as Error).message}`);
    }
  }
  if (engine) {
    const e = engine;
    engine = undefined;
    if (e.kind === 'private') log('stopping the private dockerd');
    await e.stop();
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

interface Timed {
  seconds: number;
  /** User + system CPU seconds of the command and every process it waited for (/usr/bin/time). */
  cpu?: number;
  /** Peak RSS in MB (/usr/bin/time %M). */
  mb?: number;
  r: SpawnSyncReturns<string>;
}

let timeDir: string | undefined;

/**
 * Runs a command (through /usr/bin/time when present) and returns its wall
 * time in seconds, CPU and peak RSS; throws when it fails, unless
 * `allowFail`. With `timeoutSec`, coreutils' timeout(1) stops the command
 * and every process it started (its process group) after that long.
 */
function timed(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; allowFail?: boolean; timeoutSec?: number } = {}): Timed {
  timeDir ??= tempDir('mkbench-time-');
  const timeFile = TIME ? join(timeDir, 'time') : undefined;
  const [c0, a0] = opts.timeoutSec ? ['timeout', ['-k', '5', String(opts.timeoutSec), cmd, ...args]] : [cmd, args];
  const [c, a] = TIME && timeFile ? [TIME, ['-f', '%M %U %S', '-o', timeFile, c0, ...a0]] : [c0, a0];
  const t = performance.now();
  const r = spawnSync(c, a, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, cwd: opts.cwd, env: opts.env });
  const seconds = (performance.now() - t) / 1000;
  if (r.error) throw new Error(`cannot run ${cmd}: ${r.error.message}`);
  if (opts.timeoutSec && (r.status === 124 || r.status === 137)) throw new TimeoutError(`${cmd} ${args.join(' ')} did not finish in ${opts.timeoutSec} s (stopped)\n${(r.stdout ?? '').slice(-1000)}${(r.stderr ?? '').slice(-1500)}`);
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${(r.stdout ?? '').slice(-2000)}${(r.stderr ?? '').slice(-4000)}`);
  let cpu: number | undefined;
  let mb: number | undefined;
  if (timeFile && existsSync(timeFile)) {
    const [kb, user, sys] = (readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
    if (kb > 0) mb = (kb * 1024) / 1e6;
    if (Number.isFinite(user) && Number.isFinite(sys)) cpu = user + sys;
    rmSync(timeFile, { force: true });
  }
  return { seconds, cpu, mb, r };
}

class TimeoutError extends Error {}

const cpuMedian = (ts: Timed[]): number | undefined => (ts.every((t) => t.cpu !== undefined) ? median(ts.map((t) => t.cpu!)) : undefined);

// ---------------------------------------------------------------------------
// Trees, written once per shape and reused by every part

interface Tree {
  root: string;
  summary: TreeSummary;
  opts: TreeOptions;
}

const trees = new Map<string, Tree>();

function treeFor(opts: TreeOptions): Tree {
  const key = JSON.stringify(opts);
  let t = trees.get(key);
  if (!t) {
    const root = tempDir(`mkbench-${opts.images}-`);
    const start = performance.now();
    const summary = writeSyntheticTree(root, opts);
    log(
      `wrote ${opts.images} images (${summary.filesWritten} files, ${(summary.bytesWritten / 1e6).toFixed(1)} MB; ${summary.nested} nested, ${summary.versioned} with VERSION, ` +
        `${summary.inTreeDeps} in-tree deps, ${summary.windows} Windows, ${summary.dockerignore} .dockerignore, ${summary.imageYaml} image.yaml) in ${((performance.now() - start) / 1000).toFixed(1)} s`,
    );
    t = { root, summary, opts };
    trees.set(key, t);
  }
  return t;
}

function generated(root: string): boolean {
  return existsSync(join(root, 'generated/images.mk'));
}

function generateOnce(root: string): void {
  if (!generated(root)) timed(process.execPath, [...NODE_FLAGS, CLI, '--root', root]);
}

/** What generated/images.json says about each image. */
interface CatalogImage {
  name: string;
  folder: string;
  publishedName: string;
  tag: string;
  hash: string;
  platforms: string[];
  parents: string[];
  mirror: string | null;
}

function catalog(root: string): CatalogImage[] {
  return (JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as { images: CatalogImage[] }).images;
}

function closureOf(name: string, byName: Map<string, CatalogImage>): string[] {
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const p of byName.get(n)?.parents ?? []) visit(p);
  }
  visit(name);
  return [...seen];
}

/**
 * The image the "one image" calls plan: the first (in catalog order) at the
 * top of the tree built for linux/amd64 from an in-tree parent, so the plan
 * covers a closure of two or more; another image, outside that closure and
 * in no folder above or below it, for the freshness measure; and the first
 * nested image (group-<k>/img-<i>), planned on its own row.
 */
function pickImages(root: string): { one: CatalogImage; closure: string[]; other: CatalogImage; nested?: CatalogImage } {
  const images = catalog(root);
  const byName = new Map(images.map((i) => [i.name, i]));
  const linux = images.filter((i) => !i.mirror && i.platforms.includes('linux/amd64'));
  const one = linux.find((i) => !i.name.includes('/') && i.parents.length > 0) ?? linux.find((i) => !i.name.includes('/')) ?? linux[0];
  if (!one) throw new Error('no linux/amd64 image in the synthetic tree');
  const closure = closureOf(one.name, byName);
  const related = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  const other = [...images].reverse().find((i) => !i.mirror && closure.every((c) => !related(byName.get(c)!.folder, i.folder)));
  if (!other) throw new Error('no image outside the closure of the chosen one');
  return { one, closure, other, nested: linux.find((i) => i.name.includes('/')) };
}

// ---------------------------------------------------------------------------
// gen

// A fresh run needs no generated/. The old one is moved aside, not deleted,
// and deleted after the timed runs: deleting thousands of files just before
// a run makes that run's file creations wait on the file system (here, ext4
// mounted with `discard`: 0.5 s for 1,000 rules files), which no user's run
// pays (their old rules files were written long before).
const aside: string[] = [];
function moveAside(root: string): void {
  if (!existsSync(join(root, 'generated'))) return;
  const to = `${root}.generated-${aside.length}`;
  renameSync(join(root, 'generated'), to);
  aside.push(to);
}
function removeAside(): void {
  for (const d of aside.splice(0)) rmSync(d, { recursive: true, force: true });
}

function generateRun(root: string, fresh = true): Timed {
  if (fresh) moveAside(root);
  const t = TIME
    ? timed(process.execPath, [...NODE_FLAGS, CLI, '--root', root])
    : (() => {
        // Without /usr/bin/time: peak RSS and CPU from inside the process (bench/rss-hook.ts).
        const rssFile = join(tempDir('mkbench-rss-'), 'rss');
        const x = timed(process.execPath, [...NODE_FLAGS, '--import', RSS_HOOK_URL, CLI, '--root', root], { env: { ...process.env, MKBENCH_RSS_FILE: rssFile } });
        const [kb, user, sys] = readFileSync(rssFile, 'utf8').trim().split(' ').map(Number);
        return { ...x, mb: (kb * 1024) / 1e6, cpu: user + sys };
      })();
  if (!generated(root)) throw new Error(`the generator did not write generated/images.mk: ${t.r.stdout}${t.r.stderr}`);
  if (!fresh && !/up to date/.test(t.r.stdout)) throw new Error(`a second generation over the same tree was not up to date: ${t.r.stdout}`);
  if (t.r.stderr.trim()) throw new Error(`the generator reported problems in the synthetic tree:\n${t.r.stderr.slice(0, 2000)}`);
  if (t.mb === undefined) throw new Error('no peak RSS measured');
  return t;
}

const RSS_HOOK_URL = new URL('./rss-hook.js', import.meta.url).href;

function floorRun(root: string, files: number): Timed {
  const t = timed(process.execPath, [...NODE_FLAGS, FLOOR, root]);
  const read = Number(t.r.stdout.split(' ')[0]);
  if (read !== files) throw new Error(`the floor read ${read} files, the tree has ${files}`);
  return t;
}

/** The files of generated/ (rules/ included) and their bytes. */
function outputSize(root: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (dir: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (d.isDirectory()) walk(join(dir, d.name));
      else {
        files++;
        bytes += statSync(join(dir, d.name)).size;
      }
    }
  };
  walk(join(root, 'generated'));
  return { files, bytes };
}

/**
 * The floor, then writing as many files and bytes as generated/ holds
 * (bench/floor.ts --write); with `viaGenerator`, the reading is the
 * generator's own: its modules loaded and readTree (--generator-read).
 */
function floorAndWriteRun(root: string, files: number, out: { files: number; bytes: number }, viaGenerator = false): Timed {
  const dir = tempDir('mkbench-write-');
  const t = timed(process.execPath, [...NODE_FLAGS, FLOOR, root, ...(viaGenerator ? ['--generator-read'] : []), '--write', dir, String(out.files), String(out.bytes)]);
  const read = Number(t.r.stdout.split(' ')[0]);
  if (read !== files) throw new Error(`the floor read ${read} files, the tree has ${files}`);
  return t;
}

function benchGen(cfg: Config): void {
  notes.push(
    `generation: \`node ${NODE_FLAGS.join(' ')} dist/generator/cli.js --root DIR\` (as npm run generate runs it) as a child process, generated/ moved aside before each run (and deleted after the runs) so every run writes everything ("again" rows: over the up-to-date generated/, which the CLI reads and compares); wall time includes Node start-up; ` +
      `peak RSS ${TIME ? 'from /usr/bin/time -f %M' : 'from process.resourceUsage().maxRSS (bench/rss-hook.js via node --import; /usr/bin/time not found)'}; MB = 10^6 bytes. ` +
      `Floor: \`node ${NODE_FLAGS.join(' ')} dist/bench/floor.js DIR\`, which reads and sha256s every file of the tree in one process; the two run in turn on the same tree, and the ratio is of their medians`,
  );
  for (const { tree, runs, label: variant } of cfg.gen) {
    const { root, summary } = treeFor(tree);
    const gens: Timed[] = [];
    const floors: Timed[] = [];
    const writes: Timed[] = [];
    const readsAndWrites: Timed[] = [];
    for (let i = 0; i < runs; i++) {
      floors.push(floorRun(root, summary.filesWritten));
      gens.push(generateRun(root));
      const size = outputSize(root);
      writes.push(floorAndWriteRun(root, summary.filesWritten, size));
      readsAndWrites.push(floorAndWriteRun(root, summary.filesWritten, size, true));
    }
    removeAside();
    const out = outputSize(root);
    const label = `${tree.files} files x ${tree.fileSize / 1024} KB${variant ? `, ${variant}` : ''}`;
    const secs = gens.map((g) => g.seconds);
    const floorSecs = floors.map((f) => f.seconds);
    add({ measure: 'generate: node cli.js, wall', n: tree.images, value: median(secs), unit: 's', samples: secs, cpu: cpuMedian(gens), note: label });
    add({ measure: 'read-and-sha256 floor (bench/floor.ts), wall', n: tree.images, value: median(floorSecs), unit: 's', samples: floorSecs, cpu: cpuMedian(floors), note: label });
    add({
      measure: 'ratio: generation / floor',
      n: tree.images,
      value: median(secs) / median(floorSecs),
      unit: 'x',
      target: tree.images === 1000 && !variant ? { op: '<=', limit: 1.5 } : undefined,
      note: variant,
    });
    const writeSecs = writes.map((w) => w.seconds);
    add({
      measure: 'ratio: (floor + writing as many bytes as generated/ holds) / floor',
      n: tree.images,
      value: median(writeSecs) / median(floorSecs),
      unit: 'x',
      note: `${median(writeSecs).toFixed(3)} s; ${out.files} files, ${(out.bytes / 1e6).toFixed(1)} MB; no parsing, checking or rendering${variant ? `; ${variant}` : ''}`,
    });
    // The generator less its model and rendering: what is left of the ratio for those two stages is 1 + target - this.
    const readWriteSecs = readsAndWrites.map((w) => w.seconds);
    add({
      measure: "ratio: (the generator's modules + its readTree + writing as many bytes as generated/ holds) / floor",
      n: tree.images,
      value: median(readWriteSecs) / median(floorSecs),
      unit: 'x',
      note: `${median(readWriteSecs).toFixed(3)} s; generation less this: ${((median(secs) - median(readWriteSecs)) * 1000).toFixed(0)} ms for the model and the rendering, ${(((median(secs) - median(readWriteSecs)) / tree.images) * 1e6).toFixed(0)} us per image${variant ? `; ${variant}` : ''}`,
    });
    const mbs = gens.map((g) => g.mb!);
    add({ measure: 'generate: node cli.js, peak RSS', n: tree.images, value: median(mbs), unit: 'MB', samples: mbs, target: tree.images === 10_000 ? { op: '<=', limit: 300 } : undefined, note: label });
    if (tree.images === 1000 && !variant) {
      // Again over the generated/ just written: the CLI reads the old files to compare (what a user's rerun does).
      const again = Array.from({ length: runs }, () => generateRun(root, false));
      add({ measure: 'generate again, up to date: wall', n: tree.images, value: median(again.map((x) => x.seconds)), unit: 's', samples: again.map((x) => x.seconds), cpu: cpuMedian(again), note: label });
      if (cfg.npmRuns > 0) {
        // The command users type: npm's start-up (~0.3 s here) counts too.
        const npmSecs: number[] = [];
        for (let i = 0; i < cfg.npmRuns; i++) {
          moveAside(root);
          npmSecs.push(timed('npm', ['run', '--silent', 'generate', '--', '--root', root], { cwd: PROJECT_ROOT }).seconds);
        }
        removeAside();
        add({ measure: 'generate: npm run generate, wall', n: tree.images, value: median(npmSecs), unit: 's', samples: npmSecs, note: label });
      }
    }
  }
  const start = [0, 1, 2, 3, 4].map(() => timed(process.execPath, ['-e', '0']).seconds);
  add({ measure: 'node -e 0 (start-up alone)', n: '-', value: median(start), unit: 's', samples: start });
}

// ---------------------------------------------------------------------------
// make

/** gVisor-style make-time discovery: find and hash with $(shell) while parsing. */
export const BASELINE_MAKEFILE = `# Baseline: make-time discovery (gVisor style). Every image is found, and
# every tag hashed, with $(shell) while make parses this file.
REGISTRY ?= registry.example/bench
ALL_IMAGES := $(sort $(patsubst images/%/,%,$(dir $(shell find images -type f \\( -name Dockerfile -o -name 'Dockerfile.*' -o -name Dockerfile_windows \\)))))
tag = $(shell find images/$(1) -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
$(foreach i,$(ALL_IMAGES),$(eval TAG_$(i) := $(call tag,$(i))))
.PHONY: list-all-images
list-all-images:
\t@printf '%s\\n' $(foreach i,$(ALL_IMAGES),$(REGISTRY)/$(i):$(TAG_$(i)))
`;

/**
 * The environment of every make call: C locale, none of the Makefile's
 * variables from the caller, and the stand-in client's knobs set here only:
 * buildx present (so BUILDER=buildx, REGISTRY_TOOL=imagetools, as for a
 * user with buildx), its calls logged to `log`.
 */
function makeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  for (const v of ['MAKEFLAGS', 'MFLAGS', 'REGISTRY', 'LOCAL_PREFIX', 'PLATFORMS', 'OS', 'ARCH', 'DOCKER', 'BUILDER', 'BUILD_FLAGS', 'BUILDX_BUILDER', 'REGISTRY_TOOL', 'FORCE', 'CACHE_REGISTRY', 'DOCKER_LOG', 'REAL_DOCKER']) delete env[v];
  for (const v of Object.keys(env)) if (v.startsWith('FAKE_DOCKER_')) delete env[v];
  return { ...env, FAKE_DOCKER_BUILDX: '1', ...extra };
}

/** Longest a make call may take: a plan that recurses without end is stopped, not waited for. */
const MAKE_TIMEOUT = { one: 120, all: 1800 };

function make(root: string, args: string[], env: NodeJS.ProcessEnv, allowFail = false, timeoutSec = MAKE_TIMEOUT.one): Timed {
  return timed('make', ['--no-print-directory', '-C', root, ...args], { env, allowFail, timeoutSec });
}

const lines = (s: string): number => s.split('\n').filter(Boolean).length;

/** Calls logged by the stand-in (or recording-docker): one line each, arguments single-quoted. */
function readCalls(logFile: string): string[] {
  return existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : [];
}
const isRegistryCall = (c: string): boolean => /^'buildx' 'imagetools' 'inspect'|^'manifest' 'inspect'|^'pull'/.test(c);
const isWriteCall = (c: string): boolean => /'build'|'push'|^'tag'|'imagetools' 'create'|'manifest' '(create|push)'/.test(c);

function callSummary(calls: string[]): string {
  const byKind = new Map<string, number>();
  for (const c of calls) {
    const words = c.split("' '").map((w) => w.replace(/^'|'$/g, ''));
    const kind = [words[0], ...words.slice(1, words[0] === 'buildx' ? 3 : 2).filter((w) => !w.startsWith('-'))].join(' ');
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  return [...byKind].map(([k, n]) => `${n}x docker ${k}`).join(', ');
}

/**
 * `runs` runs of make with the stand-in client; the docker calls of the last
 * run. `check` sees each run's stdout.
 */
function timeMake(root: string, args: string[], runs: number, check: (stdout: string) => void, extraEnv: NodeJS.ProcessEnv = {}, timeoutSec = MAKE_TIMEOUT.one): { ts: Timed[]; calls: string[] } {
  const logFile = join(tempDir('mkbench-calls-'), 'calls');
  const ts: Timed[] = [];
  let calls: string[] = [];
  for (let i = 0; i < runs; i++) {
    writeFileSync(logFile, '');
    const t = make(root, [...args, `DOCKER=${FAKE_DOCKER}`], makeEnv({ FAKE_DOCKER_LOG: logFile, ...extraEnv }), false, timeoutSec);
    check(t.r.stdout);
    ts.push(t);
    calls = readCalls(logFile);
  }
  return { ts, calls };
}

function addTimes(measure: string, n: number, ts: Timed[], target?: Row['target'], note?: string): Row {
  const secs = ts.map((t) => t.seconds);
  return add({ measure, n, value: median(secs), unit: 's', samples: secs, cpu: cpuMedian(ts), target, note });
}

function benchMake(cfg: Config): void {
  notes.push(
    `make: GNU make ${spawnSync('make', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].replace(/^GNU Make /, '')}, \`make --no-print-directory -C DIR ... DOCKER=test/support/fake-docker\` (the tree's Makefile only includes generated/images.mk), ` +
      'the stand-in with buildx (FAKE_DOCKER_BUILDX=1), no image built and nothing published unless a row says so; cpu = user + system of make and every process it started (/usr/bin/time). ' +
      'Registry calls: `buildx imagetools inspect` calls the stand-in answered. ONE is the first top-level image with an in-tree parent (its closure is planned with it), NESTED the first nested one',
  );
  for (const { tree, runs, allRuns } of cfg.make) {
    const n = tree.images;
    const { root, summary } = treeFor(tree);
    generateOnce(root);
    const { one, closure, nested } = pickImages(root);
    const oneNote = `ONE = ${one.name}, closure of ${closure.length}`;
    log(`make at ${n} images: ${oneNote}`);

    const list = timeMake(root, ['-s', 'list-all-images'], runs, (out) => {
      if (lines(out) !== summary.images) throw new Error(`make list-all-images printed ${lines(out)} lines, expected ${summary.images}`);
    });
    addTimes('make -s list-all-images', n, list.ts, n === 1000 ? { op: '<=', limit: 0.2 } : undefined);

    let helpLines = 0;
    const help = timeMake(root, ['-s', 'help'], runs, (out) => {
      helpLines = lines(out);
      if (!/list-all-images/.test(out)) throw new Error(`make help does not mention list-all-images:\n${out.slice(0, 2000)}`);
    });
    addTimes('make help', n, help.ts, n === 10_000 ? { op: '<=', limit: 1.0 } : undefined);
    add({ measure: 'make help, lines printed', n, value: helpLines, unit: 'lines', target: n === 10_000 ? { op: '<=', limit: 200 } : undefined });

    const buildOne = timeMake(root, ['-n', `build-${one.name}`], runs, (out) => {
      if (!out.includes(` build `) || !out.includes(`/${one.name}:${one.hash}`)) throw new Error(`make -n build-${one.name} planned no build of it:\n${out.slice(0, 2000)}`);
    });
    addTimes('make -n build-ONE (plan one image)', n, buildOne.ts, n === 10_000 ? { op: '<=', limit: 1.0 } : undefined, `${oneNote}; ${buildOne.calls.length} docker calls`);

    if (nested) {
      // A nested image's name starts with its folder (group-<k>/img-<i>, a group of its own).
      const nestedNote = `NESTED = ${nested.name}`;
      try {
        const t = timeMake(root, ['-n', `build-${nested.name}`], 1, (out) => {
          if (!out.includes(`/${nested.name}:${nested.hash}`)) throw new Error(`make -n build-${nested.name} planned no build of it:\n${out.slice(0, 1000)}`);
        }, {}, 30);
        addTimes('make -n build-NESTED (plan a nested image)', n, t.ts, n === 10_000 ? { op: '<=', limit: 1.0 } : undefined, nestedNote);
      } catch (e) {
        const message = (e as Error).message;
        // Under -n make still runs recipe lines that call $(MAKE): an unplanned goal delegated again and again.
        const delegations = (message.match(/^make .*-f \S+ build-/gm) ?? []).length;
        const why = e instanceof TimeoutError ? `no plan: ${delegations > 1 ? 'make delegated to sub-makes without end, ' : ''}stopped after 30 s` : message.split('\n')[0];
        add({ measure: 'make -n build-NESTED (plan a nested image)', n, unit: 's', target: { op: '<=', limit: 1.0 }, failed: true, note: `${nestedNote}: ${why}` });
        notes.push(`make -n build-${nested.name} at ${n} images: ${message.split('\n').slice(0, 5).join(' | ').slice(0, 800)}`);
      }
    }

    const pushOne = timeMake(root, ['-n', `push-${one.name}`], runs, (out) => {
      if (!/imagetools create|--push/.test(out)) throw new Error(`make -n push-${one.name} planned no push:\n${out.slice(0, 2000)}`);
    });
    addTimes('make -n push-ONE (plan one image)', n, pushOne.ts, undefined, `${pushOne.calls.filter(isRegistryCall).length} registry calls, ${pushOne.calls.length} docker calls in all`);

    const loadOne = timeMake(root, ['-n', `load-${one.name}`], runs, (out) => {
      if (!out.includes(` build `)) throw new Error(`make -n load-${one.name} planned no build:\n${out.slice(0, 2000)}`);
    });
    addTimes('make -n load-ONE (plan one image)', n, loadOne.ts, undefined, `${loadOne.calls.filter(isRegistryCall).length} registry calls, ${loadOne.calls.length} docker calls in all`);

    const buildAll = timeMake(root, ['-n', 'build-all-images'], allRuns, (out) => {
      const builds = (out.match(/ build /g) ?? []).length;
      if (builds < summary.images - summary.windows) throw new Error(`make -n build-all-images printed ${builds} build commands, expected at least ${summary.images - summary.windows}`);
    }, {}, MAKE_TIMEOUT.all);
    addTimes('make -n build-all-images (plan all)', n, buildAll.ts, n === 1000 ? { op: '<=', limit: 1.0 } : undefined, `${buildAll.calls.length} docker calls`);

    const pushAll = timeMake(root, ['-n', 'push-all-images'], allRuns, (out) => {
      const pushes = (out.match(/imagetools create/g) ?? []).length;
      if (pushes < summary.images) throw new Error(`make -n push-all-images printed ${pushes} imagetools create commands, expected at least ${summary.images}`);
    }, {}, MAKE_TIMEOUT.all);
    addTimes('make -n push-all-images (plan all)', n, pushAll.ts, undefined, `${pushAll.calls.filter(isRegistryCall).length} registry calls`);

    // The no-op build of one image: ONE and its closure present (built and
    // tagged as `make build-ONE` leaves them), in the stand-in's image list.
    const byName = new Map(catalog(root).map((i) => [i.name, i]));
    const present = join(tempDir('mkbench-present-'), 'images');
    const settings = readFileSync(join(root, 'images/mkimages.yaml'), 'utf8');
    const localPrefix = /^localPrefix: *(\S+)/m.exec(settings)?.[1];
    const registryName = /^registry: *(\S+)/m.exec(settings)?.[1];
    writeFileSync(
      present,
      closure
        .map((name, k) => {
          const i = byName.get(name)!;
          const id = `sha256:${(k + 1).toString(16).padStart(12, '0')}`;
          return [`${localPrefix}/${name}:${i.hash}-linux-amd64`, `${localPrefix}/${name}:${i.hash}`, `${localPrefix}/${name}:latest`, `${registryName}/${i.publishedName}:${i.tag}`].map((r) => `${r}@${id}\n`).join('');
        })
        .join(''),
    );
    const noop = timeMake(
      root,
      ['-s', `build-${one.name}`],
      runs,
      (out) => {
        if (!/is up to date/.test(out)) throw new Error(`the no-op make build-${one.name} did not say up to date:\n${out.slice(0, 2000)}`);
      },
      { FAKE_DOCKER_IMAGES: present },
    );
    const writes = noop.calls.filter(isWriteCall);
    if (writes.length > 0) throw new Error(`the no-op make build-${one.name} built or tagged: ${writes.slice(0, 5).join('; ')}`);
    addTimes(`no-op make build-ONE (present), wall`, n, noop.ts, n === 10_000 ? { op: '<=', limit: 1.0 } : undefined, oneNote);
    add({ measure: 'no-op make build-ONE (present), docker calls', n, value: noop.calls.length, unit: 'calls', target: { op: '<=', limit: 5 }, note: callSummary(noop.calls) || 'none' });
  }

  for (const n of cfg.baselineN) {
    const { root, summary } = treeFor(shape(n));
    generateOnce(root);
    const ours = timeMake(root, ['-s', 'list-all-images'], cfg.baselineRuns * 2 + 1, () => {});
    addTimes('make -s list-all-images', n, ours.ts);
    writeFileSync(join(root, 'baseline.mk'), BASELINE_MAKEFILE);
    const base: number[] = [];
    for (let i = 0; i < cfg.baselineRuns; i++) {
      const t = make(root, ['-s', '-f', 'baseline.mk', 'list-all-images'], makeEnv());
      if (lines(t.r.stdout) !== summary.images) throw new Error(`the baseline listed ${lines(t.r.stdout)} images, expected ${summary.images}`);
      base.push(t.seconds);
    }
    add({ measure: 'baseline (make-time discovery, gVisor style) list-all-images', n, value: median(base), unit: 's', samples: base });
    add({ measure: 'ratio: baseline / ours, list-all-images', n, value: median(base) / median(ours.ts.map((t) => t.seconds)), unit: 'x', target: n === 100 ? { op: '>=', limit: 20 } : undefined });
  }
  notes.push('baseline: a gVisor-style Makefile that finds the images and hashes each folder with $(shell find images/<i> -type f | sort | xargs sha256sum | sha256sum) while parsing');
}

// ---------------------------------------------------------------------------
// fresh

const BIG_BYTES = 300 * 1024 * 1024;
let bigFile: string | undefined;

/** A 300 MiB file of non-zero bytes, written once, moved in and out of trees by rename. */
function theBigFile(): string {
  if (!bigFile) {
    const f = join(tempDir('mkbench-big-'), 'big.dat');
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
    const fd = openSync(f, 'w');
    try {
      for (let w = 0; w < BIG_BYTES; w += chunk.length) writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
    bigFile = f;
  }
  return bigFile;
}

/** Paths under `dir` that `make ...` opened (strace -f), relative to the tree root. */
function opensUnder(root: string, args: string[], env: NodeJS.ProcessEnv, dirs: string[]): number[] {
  const out = join(tempDir('mkbench-strace-'), 'trace');
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=open,openat,openat2', '-o', out, 'make', '--no-print-directory', '-C', root, ...args], { env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`strace make ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const trace = readFileSync(out, 'utf8').split('\n');
  // find opens relative paths below the images dir (it runs there); match either spelling.
  return dirs.map((d) => trace.filter((l) => l.includes(`"${d}`) || l.includes(`/${d}`)).length);
}

function benchFresh(cfg: Config): void {
  notes.push(
    'freshness: `make -n build-ONE` (stand-in client), in turn without and with a 300 MiB file moved (rename) into the folder of another image, outside ONE\'s closure; the difference of the CPU medians is judged (a busy machine moves wall times more), ' +
      'and strace counts the opens (open/openat, any process make started) of paths in that other folder, and in ONE\'s own folder as a check that the trace sees the freshness check',
  );
  const big = theBigFile();
  const hashed = timed('sha256sum', [big]);
  add({ measure: 'reference: sha256sum of the 300 MiB file alone', n: '-', value: hashed.seconds, unit: 's', cpu: hashed.cpu });
  for (const { tree, runs } of cfg.fresh) {
    const n = tree.images;
    const { root } = treeFor(tree);
    generateOnce(root);
    const { one, other } = pickImages(root);
    const inside = join(root, other.folder, 'mkbench-big.dat');
    const args = ['-n', `build-${one.name}`, `DOCKER=${FAKE_DOCKER}`];
    const env = makeEnv();
    const without: Timed[] = [];
    const withBig: Timed[] = [];
    try {
      // ABBA order, so that drift in the machine's load falls on both sides.
      for (let i = 0; i < runs; i++) {
        const order = i % 2 === 0 ? [false, true] : [true, false];
        for (const withIt of order) {
          if (withIt) renameSync(big, inside);
          try {
            (withIt ? withBig : without).push(make(root, args, env));
          } finally {
            if (withIt) renameSync(inside, big);
          }
        }
      }
      renameSync(big, inside);
      // The file is in a folder make checks for the other image: planning that image refuses.
      const stale = make(root, ['-n', `build-${other.name}`, `DOCKER=${FAKE_DOCKER}`], env, true);
      if (stale.r.status === 0 || !/changed since/.test(stale.r.stderr)) throw new Error(`make -n build-${other.name} did not refuse after the 300 MB file was added to ${other.folder}: ${stale.r.stderr.slice(0, 500)}`);
      const traced = hasTool('strace') ? opensUnder(root, args, env, [other.folder.replace(/^images\//, ''), one.folder.replace(/^images\//, '')]) : undefined;
      const note = `ONE = ${one.name}, 300 MiB in ${other.folder}`;
      addTimes('make -n build-ONE, without the file', n, without, undefined, note);
      addTimes('make -n build-ONE, with the 300 MiB file elsewhere', n, withBig);
      const cb = cpuMedian(without);
      const ca = cpuMedian(withBig);
      add({
        measure: 'freshness: with - without, CPU',
        n,
        value: ca !== undefined && cb !== undefined ? Number((ca - cb).toFixed(3)) : undefined,
        unit: 's',
        target: { op: '<=', limit: 0.05 },
        note: `wall ${fmt(median(withBig.map((t) => t.seconds)) - median(without.map((t) => t.seconds)), 's')}`,
      });
      if (traced) {
        add({ measure: "freshness: opens in the other image's folder (strace)", n, value: traced[0], unit: 'calls', target: { op: '<=', limit: 0 }, note: `${traced[1]} in ONE's folder` });
        if (traced[1] === 0) throw new Error(`strace saw no open in ${one.folder}: the measure does not see the freshness check`);
      } else add({ measure: "freshness: opens in the other image's folder (strace)", n, unit: 'calls', target: { op: '<=', limit: 0 }, note: 'strace not installed' });
    } finally {
      if (existsSync(inside)) renameSync(inside, big);
    }
  }
}

// ---------------------------------------------------------------------------
// push: the no-op push-all-images of published images

function publishedOf(root: string): PublishedImage[] {
  return catalog(root)
    .filter((i) => !i.mirror)
    .map((i) => ({ repo: i.publishedName, tag: i.tag, hash: i.hash, keys: i.platforms.map((p) => p.replace(/\//g, '-')) }));
}

function checkNoopPush(out: string, calls: string[], images: number): void {
  const upToDate = (out.match(/is up to date/g) ?? []).length;
  if (upToDate !== images) throw new Error(`the no-op push-all-images said "up to date" for ${upToDate} of ${images} images:\n${out.slice(0, 3000)}`);
  const writes = calls.filter(isWriteCall);
  if (writes.length > 0) throw new Error(`the no-op push-all-images wrote: ${writes.slice(0, 5).join('; ')}`);
}

async function benchPush(cfg: Config): Promise<void> {
  const n = cfg.pushImages;
  const { root } = treeFor({ ...shape(n), buildable: true });
  generateOnce(root);
  const images = publishedOf(root);
  const args = ['-j4', 'push-all-images'];
  const before = { op: '<=' as const, limit: 10.1 };

  // 1. The stand-in answers for the registry.
  const reg = 'registry.example/bench';
  const files = fakeRegistryFiles(reg, images);
  const dir = tempDir('mkbench-push-fake-');
  writeFileSync(join(dir, 'published'), files.published);
  writeFileSync(join(dir, 'labels'), files.labels);
  const fake = timeMake(root, [...args, `REGISTRY=${reg}`], cfg.pushRuns, () => {}, { FAKE_DOCKER_PUBLISHED: join(dir, 'published'), FAKE_DOCKER_LABELS: join(dir, 'labels') });
  checkNoopPush(fake.ts[fake.ts.length - 1].r.stdout, fake.calls, images.length);
  addTimes('no-op make -j4 push-all-images, stand-in registry, wall', n, fake.ts, before);
  add({ measure: 'no-op make -j4 push-all-images, stand-in, registry calls', n, value: fake.calls.filter(isRegistryCall).length, unit: 'calls', target: { op: '<=', limit: 100 }, note: callSummary(fake.calls) });

  // 2. A real registry and the real buildx client.
  const skipReal = (why: string) => {
    add({ measure: 'no-op make -j4 push-all-images, real registry + buildx, wall', n, unit: 's', target: before, note: 'skipped, see below' });
    add({ measure: 'no-op make -j4 push-all-images, real registry, registry calls', n, unit: 'calls', target: { op: '<=', limit: 100 }, note: 'skipped' });
    notes.push(`no-op push against a real registry skipped: ${why}`);
  };
  if (!existsSync(REGISTRY_BIN)) return skipReal(`${REGISTRY_BIN} is not installed (scripts/install-e2e-deps.sh)`);
  const docker = findDockerClient();
  if (!docker || !clientHasBuildx(docker)) return skipReal('no docker client with the buildx plugin');
  registry = await startRegistry();
  const t0 = performance.now();
  const manifests = await publishImages(registry.host, 'mkbench', images);
  log(`published ${images.length} images (${manifests} manifests) to ${registry.host} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const logFile = join(tempDir('mkbench-push-real-'), 'calls');
  // A client config of the run's own: nothing of the user's ~/.docker is read or written.
  const dockerConfig = tempDir('mkbench-docker-config-');
  const env = makeEnv({ REAL_DOCKER: docker, DOCKER_LOG: logFile, DOCKER_CONFIG: dockerConfig });
  delete env.FAKE_DOCKER_BUILDX;
  const ts: Timed[] = [];
  let calls: string[] = [];
  for (let i = 0; i < cfg.pushRuns; i++) {
    writeFileSync(logFile, '');
    const t = make(root, [...args, `REGISTRY=${registry.host}/mkbench`, `DOCKER=${RECORDING_DOCKER}`], env);
    calls = readCalls(logFile);
    checkNoopPush(t.r.stdout, calls, images.length);
    ts.push(t);
  }
  const version = spawnSync(docker, ['buildx', 'version'], { encoding: 'utf8' }).stdout.trim();
  notes.push(
    `no-op push: ${n} FROM-scratch images (tree with buildable: true), each published as make push-N leaves it (:TAG-linux-amd64 with its content label, the index :TAG and :H); make -j4 push-all-images. ` +
      `Stand-in: test/support/fake-docker with FAKE_DOCKER_PUBLISHED/FAKE_DOCKER_LABELS. Real: ${REGISTRY_BIN} on ${registry.host} (written through its HTTP API by bench/publish.ts), client ${docker} (${version}) through test/support/recording-docker, no engine. ` +
      'The target is the figure before the plan: 10.1 s and 100 `docker manifest inspect` calls against a real registry',
  );
  addTimes('no-op make -j4 push-all-images, real registry + buildx, wall', n, ts, before);
  add({ measure: 'no-op make -j4 push-all-images, real registry, registry calls', n, value: calls.filter(isRegistryCall).length, unit: 'calls', target: { op: '<=', limit: 100 }, note: callSummary(calls) });
}

// ---------------------------------------------------------------------------
// noop: the no-op build-all-images against a real engine

async function benchNoop(cfg: Config): Promise<void> {
  const n = cfg.noopImages;
  const skip = (why: string) => {
    add({ measure: 'no-op make build-all-images (engine), wall', n, unit: 's', target: n === 100 ? { op: '<=', limit: 2 } : undefined, note: 'skipped, see below' });
    notes.push(`no-op build against an engine skipped: ${why}`);
    add({ measure: 'no-op make build-all-images (engine), docker calls', n, unit: 'calls', target: n === 100 ? { op: '<=', limit: 5 } : undefined, note: 'skipped' });
  };
  log('looking for a Docker engine');
  const choice = await chooseEngine();
  if ('skipReason' in choice) {
    skip(choice.skipReason);
    return;
  }
  engine = choice.engine;
  notes.push(
    `no-op build: ${engine.kind === 'private' ? `a private dockerd started for the bench (${engine.storageDriver}, up in ${((engine.startMs ?? 0) / 1000).toFixed(1)} s), stopped afterwards` : `the engine at ${engine.dockerHost}`}; ` +
      `client ${engine.docker} through test/support/recording-docker; ${n} FROM-scratch images (8 files x 2 KB) built once with make -j2, then timed; images removed afterwards by their unique prefix`,
  );
  const { root, summary } = treeFor({ ...shape(n), buildable: true });
  generateOnce(root);
  const id = `${process.pid}-${Date.now().toString(36)}`;
  const prefix = `mkbench-${id}.local/`;
  builtPrefix = prefix;
  const logFile = join(tempDir('mkbench-docker-log-'), 'docker.log');
  const env: NodeJS.ProcessEnv = { ...makeEnv(), ...clientEnv(engine), REAL_DOCKER: engine.docker, DOCKER_LOG: logFile };
  delete env.FAKE_DOCKER_BUILDX;
  const args = ['build-all-images', `DOCKER=${RECORDING_DOCKER}`, `LOCAL_PREFIX=${prefix}l`, `REGISTRY=${prefix}r`, `BUILD_FLAGS=${engine.buildFlags}`];

  log(`building ${n} images once (${summary.inTreeDeps} with an in-tree parent)`);
  writeFileSync(logFile, '');
  try {
    const first = timed('make', ['--no-print-directory', '-C', root, '-j2', ...args], { env });
    const calls = readCalls(logFile);
    const builds = calls.filter((c) => /^'build'|^'buildx' 'build'/.test(c)).length;
    log(`first build: ${first.seconds.toFixed(1)} s, ${builds} docker build call(s), ${calls.length} docker call(s) in all`);
    add({ measure: 'first make build-all-images (engine; not a target)', n, value: first.seconds, unit: 's', note: `${builds} builds, ${calls.length} docker calls` });
  } catch (e) {
    skip(`the first build failed: ${(e as Error).message.split('\n').slice(0, 12).join(' | ')}`);
    return;
  }
  const ts: Timed[] = [];
  const counts: number[] = [];
  let sample: string[] = [];
  for (let i = 0; i < cfg.noopRuns; i++) {
    writeFileSync(logFile, '');
    const t = timed('make', ['--no-print-directory', '-C', root, ...args], { env });
    const c = readCalls(logFile);
    const builds = c.filter((x) => /'build'/.test(x));
    if (builds.length > 0) throw new Error(`the second make build-all-images built again:\n${builds.slice(0, 5).join('\n')}\n${t.r.stdout.slice(0, 2000)}`);
    ts.push(t);
    counts.push(c.length);
    sample = c;
  }
  addTimes('no-op make build-all-images (engine), wall', n, ts, n === 100 ? { op: '<=', limit: 2 } : undefined);
  add({ measure: 'no-op make build-all-images (engine), docker calls', n, value: Math.max(...counts), unit: 'calls', samples: counts, target: n === 100 ? { op: '<=', limit: 5 } : undefined, note: `max over runs; ${callSummary(sample) || 'none'}` });
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2));
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm run bench does)`);
  log(`${cfg.quick ? 'quick run' : 'full run'}: ${[...cfg.parts].join(', ')}; temp dirs under ${tmpdir()}`);
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  const loadBefore = load();
  const started = performance.now();
  try {
    for (const part of PARTS) {
      if (!cfg.parts.has(part)) continue;
      const t = performance.now();
      try {
        if (part === 'gen') benchGen(cfg);
        else if (part === 'make') benchMake(cfg);
        else if (part === 'fresh') benchFresh(cfg);
        else if (part === 'push') await benchPush(cfg);
        else await benchNoop(cfg);
      } catch (e) {
        add({ measure: `${part}: ERROR, see below`, n: '-', unit: '' });
        notes.push(`${part} failed: ${(e as Error).message.split('\n').slice(0, 12).join('\n    ')}`);
        process.exitCode = 1;
      }
      log(`${part} took ${((performance.now() - t) / 1000).toFixed(0)} s (load average now ${load()})`);
    }
  } finally {
    await cleanup();
  }
  const git = (...args: string[]) => spawnSync('git', ['-C', PROJECT_ROOT, ...args], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const dirty = git('status', '--porcelain', '--', 'generator', 'templates');
  notes.push(`measured: generator and templates at ${git('rev-parse', '--short', 'HEAD') || '(not a git checkout)'}${dirty ? ', with uncommitted changes to them' : ''} (dist/ as npm run build left it)`);
  notes.push(`machine: ${cpus().length} CPU(s), Node ${process.version}; load average ${loadBefore} at the start, ${load()} at the end (other work on the machine inflates wall times; cpu does not move with it)`);
  printTable();
  process.stdout.write(`bench took ${((performance.now() - started) / 1000).toFixed(0)} s${cfg.quick ? ' (quick: 1,000 images only, fewer runs)' : ''}\n`);
  if (rows.some((r) => verdict(r) === 'FAIL')) process.exitCode = 1;
}

main().catch(async (e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  await cleanup();
  process.exitCode = 1;
});
