// Where generation time goes: `node dist/bench/profile.js [--images N]
// [--files F] [--size S] [--runs R] [--top K] [--root DIR]`.
//
// 1. Stage timing in one process, around the generator's own functions
//    (module load, readTree, buildModel, renderMakefile, renderCatalog +
//    renderGraph, staleFiles + writeFiles), median of R runs, with heap use.
// 2. readTree's parts, replayed on the same tree: the walk alone, + reading
//    the files, + lstat per file, + sha256 per file.
// 3. A V8 CPU profile of the real CLI (`node --cpu-prof`), summed by function
//    (self time) and by file/package.
//
// It writes its synthetic tree under os.tmpdir() (unless --root is given) and
// removes it.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { writeSyntheticTree } from './tree.js';

const DIST = resolve(fileURLToPath(import.meta.url), '../..');
const CLI = join(DIST, 'generator/cli.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

let TOP = 20;
const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;

export interface StageTimes {
  [stage: string]: number;
}

/** One in-process generation with a timer (and memory reading) around each stage. */
export async function timeStages(root: string): Promise<StageTimes> {
  const out: StageTimes = {};
  const mem: StageTimes = {};
  let last = performance.now();
  const mark = (stage: string) => {
    const now = performance.now();
    out[stage] = now - last;
    const m = process.memoryUsage();
    mem[`${stage} heapUsed MiB`] = m.heapUsed / 2 ** 20;
    mem[`${stage} rss MiB`] = m.rss / 2 ** 20;
    last = now;
  };
  const { readTree } = await import('../generator/scan/tree.js');
  const { buildModel } = await import('../generator/model/build.js');
  const { renderMakefile } = await import('../generator/render/makefile.js');
  const { loadTemplates } = await import('../generator/templates.js');
  const { renderCatalog, renderGraph } = await import('../generator/render/catalog.js');
  const { staleFiles, writeFiles } = await import('../generator/write/output.js');
  const { Diagnostics } = await import('../generator/diagnostics.js');
  const { loadSchemas } = await import('../generator/schemas.js');
  const t0 = performance.now();
  out['import generator modules'] = t0 - last;
  last = t0;
  const tree = readTree(root);
  mark('readTree');
  const diags = new Diagnostics();
  const model = buildModel(tree, diags, loadSchemas());
  mark('buildModel');
  if (diags.hasErrors) throw new Error(`the synthetic tree has errors: ${JSON.stringify(diags.sorted().slice(0, 3))}`);
  // The first call loads the compiled templates (dist/templates.cjs, then cached): with one image, that is nearly all it does.
  renderMakefile({ ...model, images: model.images.slice(0, 1), groups: new Map() }, loadTemplates());
  mark('template load (1-image render)');
  const mk = renderMakefile(model, loadTemplates());
  mark('renderMakefile (compiled)');
  const json = renderCatalog(model);
  const md = renderGraph(model);
  mark('renderCatalog+Graph');
  const files = new Map([
    ['generated/images.mk', mk.main],
    ['generated/images.json', json],
    ['generated/images.md', md],
  ]);
  // The rules of each image are rendered as they are written (lazily).
  const output = { files, dirs: new Map([['generated/rules', mk.rules]]) };
  rmSync(join(root, 'generated'), { recursive: true, force: true });
  staleFiles(root, output);
  writeFiles(root, output);
  mark('staleFiles+writeFiles (and rendering the rules)');
  out['total after start-up'] = Object.values(out).reduce((a, b) => a + b, 0);
  out['peak RSS MiB'] = process.resourceUsage().maxRSS / 1024;
  let rulesBytes = 0;
  for (const name of mk.rules.names) rulesBytes += Buffer.byteLength(mk.rules.content(name));
  out['images.mk MB'] = (Buffer.byteLength(mk.main) + rulesBytes) / 1e6;
  return { ...out, ...mem };
}

/** readTree's parts replayed: walk, read, lstat, sha256 (cumulative). */
export function timeReadTreeParts(root: string): StageTimes {
  const images = join(root, 'images');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, d.name);
      if (d.isDirectory()) walk(full);
      else if (d.isFile()) files.push(full);
    }
  };
  const t0 = performance.now();
  walk(images);
  const t1 = performance.now();
  const bufs = files.map((f) => readFileSync(f));
  const t2 = performance.now();
  for (const f of files) lstatSync(f);
  const t3 = performance.now();
  for (const b of bufs) createHash('sha256').update(b).digest('hex');
  const t4 = performance.now();
  return { 'walk (readdir)': t1 - t0, readFileSync: t2 - t1, lstatSync: t3 - t2, sha256: t4 - t3, files: files.length };
}

/**
 * readTree's file loop two ways, for a suggested change, in a fresh process
 * each (wall ms and peak RSS): `current` = readFileSync + lstatSync + sha256
 * per file, as generator/scan/tree.ts does; `fd` = openSync + fstatSync +
 * readSync into one reused 64 KiB buffer + sha256, keeping bytes only for
 * the files the parsers need.
 */
export function readTreeVariant(root: string, variant: 'current' | 'fd'): { ms: number; rssMiB: number; entries: number } {
  const images = join(root, 'images');
  const t0 = performance.now();
  const out: Array<{ path: string; executable: boolean; digest: string; content?: Buffer }> = [];
  const chunk = Buffer.allocUnsafe(64 * 1024);
  const interpreted = (n: string) => n.startsWith('Dockerfile') || ['BASEIMAGE', 'VERSION', 'ALIAS', 'image.yaml', 'mkimages.yaml', '.dockerignore', 'Makefile'].includes(n);
  const walk = (rel: string) => {
    for (const d of readdirSync(rel ? join(images, rel) : images, { withFileTypes: true })) {
      const path = rel ? `${rel}/${d.name}` : d.name;
      const full = join(images, path);
      if (d.isDirectory()) walk(path);
      else if (d.isFile()) {
        if (variant === 'current') {
          const bytes = readFileSync(full);
          out.push({ path, executable: (lstatSync(full).mode & 0o100) !== 0, digest: createHash('sha256').update(bytes).digest('hex'), content: interpreted(d.name) ? bytes : undefined });
        } else {
          const fd = openSync(full, 'r');
          try {
            const st = fstatSync(fd);
            const h = createHash('sha256');
            const keep: Buffer[] = [];
            for (;;) {
              const n = readSync(fd, chunk, 0, chunk.length, null);
              if (n === 0) break;
              h.update(chunk.subarray(0, n));
              if (interpreted(d.name)) keep.push(Buffer.from(chunk.subarray(0, n)));
            }
            out.push({ path, executable: (st.mode & 0o100) !== 0, digest: h.digest('hex'), content: keep.length ? Buffer.concat(keep) : undefined });
          } finally {
            closeSync(fd);
          }
        }
      }
    }
  };
  walk('');
  return { ms: performance.now() - t0, rssMiB: process.resourceUsage().maxRSS / 1024, entries: out.length };
}

/** Sorting the tree's paths: compareBytes as in generator/scan/tree.ts vs a byte-order key computed once per path. */
export function timeSorts(root: string): StageTimes {
  const paths: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      paths.push(p);
      if (d.isDirectory()) walk(join(dir, d.name), p);
    }
  };
  walk(join(root, 'images'), '');
  const compareBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  const a = [...paths];
  const t0 = performance.now();
  a.sort(compareBytes);
  const t1 = performance.now();
  // latin1 view of the UTF-8 bytes: plain < on it is byte order.
  const keyed = paths.map((p) => ({ p, k: Buffer.from(p, 'utf8').toString('latin1') }));
  keyed.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
  const t2 = performance.now();
  if (keyed.some((x, i) => x.p !== a[i])) throw new Error('the keyed sort disagrees with compareBytes');
  return { [`sort ${paths.length} paths with compareBytes`]: t1 - t0, [`sort ${paths.length} paths with a precomputed key`]: t2 - t1 };
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function where(url: string): string {
  if (!url) return '(native/V8)';
  const p = url.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = p.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${parts.slice(0, parts[0].startsWith('@') ? 2 : 1).join('/')}`;
  }
  const d = p.indexOf('/dist/');
  if (d >= 0) return p.slice(d + '/dist/'.length);
  if (p.startsWith('node:')) return 'node internals';
  return p;
}

/** Self time by function and by file/package from a .cpuprofile. */
export function summarizeCpuProfile(file: string, top = 20): string {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const f = where(n.callFrame.url);
    const fn = `${n.callFrame.functionName || '(anonymous)'}  ${f}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    byFile.set(f, (byFile.get(f) ?? 0) + us);
  }
  // Inclusive time: each sample counts once for every function (and package) on its stack.
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incFn = new Map<string, number>();
  const incFile = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    const us = prof.timeDeltas[i] ?? 0;
    const fns = new Set<string>();
    const pkgs = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      const f = where(n.callFrame.url);
      if (f.startsWith('generator/') || f.startsWith('bench/')) fns.add(`${n.callFrame.functionName || '(anonymous)'}  ${f}`);
      if (f.startsWith('npm:')) pkgs.add(f);
    }
    for (const k of fns) incFn.set(k, (incFn.get(k) ?? 0) + us);
    for (const k of pkgs) incFile.set(k, (incFile.get(k) ?? 0) + us);
  });
  const total = (prof.endTime - prof.startTime) / 1000;
  const fmt = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => `  ${(us / 1000).toFixed(0).padStart(6)} ms ${((us / 1000 / total) * 100).toFixed(1).padStart(5)} %  ${name}`)
      .join('\n');
  return [
    `profiled ${total.toFixed(0)} ms (from V8 start of profiling)`,
    `self time by file/package:\n${fmt(byFile, 12)}`,
    `self time by function (top ${top}):\n${fmt(byFn, top)}`,
    `inclusive time of the generator's functions (top ${top}):\n${fmt(incFn, top)}`,
    `inclusive time of npm packages (anything they call included):\n${fmt(incFile, 8)}`,
  ].join('\n');
}

/** Runs the CLI under --cpu-prof and summarizes the profile. */
export function cpuProfileCli(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mkbench-prof-'));
  try {
    rmSync(join(root, 'generated'), { recursive: true, force: true });
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200', CLI, '--root', root], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`generator failed: ${r.stderr}`);
    const f = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'));
    if (!f) throw new Error('no .cpuprofile written');
    return summarizeCpuProfile(join(dir, f), TOP);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(argv: string[], name: string, dflt: number): number {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--readtree-child') {
    process.stdout.write(JSON.stringify(readTreeVariant(resolve(argv[2]), argv[1] as 'current' | 'fd')));
    return;
  }
  if (argv[0] === '--stages-child') {
    process.stdout.write(JSON.stringify(await timeStages(resolve(argv[1]))));
    return;
  }
  const images = arg(argv, '--images', 1000);
  const files = arg(argv, '--files', images >= 10000 ? 4 : 8);
  const size = arg(argv, '--size', images >= 10000 ? 1024 : 2048);
  const runs = arg(argv, '--runs', 3);
  TOP = arg(argv, '--top', 20);
  const rootArg = argv.includes('--root') ? argv[argv.indexOf('--root') + 1] : undefined;
  const root = rootArg ? resolve(rootArg) : mkdtempSync(join(tmpdir(), 'mkbench-profile-'));
  try {
    if (!rootArg) writeSyntheticTree(root, { images, files, fileSize: size });
    console.log(`profile: ${rootArg ?? `${images} images x ${files} files x ${size} B`}`);
    const startups: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      startups.push(performance.now() - t);
    }
    console.log(`node start-up (node -e 0, median of 5): ${ms(median(startups))}`);

    // Each run in a fresh process, cold like the CLI (no JIT warm-up, modules loaded anew).
    const all: StageTimes[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--stages-child', root], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`stage run failed: ${r.stderr}`);
      all.push(JSON.parse(r.stdout) as StageTimes);
    }
    console.log(`\nstages, each run in a fresh process (median of ${runs}); memory after each stage:`);
    const med = (k: string) => median(all.map((s) => s[k]));
    for (const k of Object.keys(all[0])) {
      if (/ (heapUsed|rss) MiB$/.test(k)) continue;
      const after = all[0][`${k} rss MiB`] !== undefined ? `   heapUsed ${med(`${k} heapUsed MiB`).toFixed(0).padStart(4)} MiB, rss ${med(`${k} rss MiB`).toFixed(0).padStart(4)} MiB` : '';
      const v = med(k);
      const shown = k.endsWith('MiB') ? `${v.toFixed(0).padStart(6)} MiB` : k.endsWith('MB') ? `${v.toFixed(1).padStart(6)} MB ` : ms(v);
      console.log(`  ${k.padEnd(30)} ${shown}${after}`);
    }

    const parts: StageTimes[] = [];
    for (let i = 0; i < runs; i++) parts.push(timeReadTreeParts(root));
    console.log(`\nreadTree's parts replayed (median of ${runs}):`);
    for (const k of Object.keys(parts[0])) {
      const v = median(parts.map((s) => s[k]));
      console.log(`  ${k.padEnd(34)} ${k === 'files' ? String(v).padStart(9) : ms(v)}`);
    }

    console.log(`\nreadTree's file loop, current vs suggested (fresh process each, median of ${runs}):`);
    for (const variant of ['current', 'fd'] as const) {
      const rs: Array<{ ms: number; rssMiB: number }> = [];
      for (let i = 0; i < runs; i++) {
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--readtree-child', variant, root], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`readTree variant failed: ${r.stderr}`);
        rs.push(JSON.parse(r.stdout) as { ms: number; rssMiB: number });
      }
      const label = variant === 'current' ? 'readFileSync + lstatSync (now)' : 'open + fstat + readSync, 1 buffer';
      console.log(`  ${label.padEnd(34)} ${ms(median(rs.map((x) => x.ms)))}   peak RSS ${median(rs.map((x) => x.rssMiB)).toFixed(0).padStart(4)} MiB`);
    }
    const sorts = timeSorts(root);
    console.log(`\nsorting entries by byte order:`);
    for (const [k, v] of Object.entries(sorts)) console.log(`  ${k.padEnd(46)} ${ms(v)}`);

    console.log(`\nCPU profile of the CLI (node --cpu-prof):`);
    console.log(cpuProfileCli(root));
  } finally {
    if (!rootArg) rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exitCode = 1;
  });
}
