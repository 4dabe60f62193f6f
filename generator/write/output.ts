// The only writer. generated/ is replaced only when every file rendered:
// every new file is first written in full (and flushed) under a temporary
// name beside its target, the old files are kept as hard links, and only
// then are the new files renamed into place. A failure while renaming puts
// the old files back, so a run that fails changes nothing; the temporary
// files and links are always removed.
//
// The renames of one run are separate system calls: the CLI holds SIGINT,
// SIGTERM and SIGHUP while they run, so only SIGKILL or a power loss in
// that window (microseconds for three files) could leave old and new files
// side by side, and the next `npm run generate` (or `--check`) sees it.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, fsyncSync, linkSync, copyFileSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** What the generator writes, by path relative to the repository root. */
export interface Output {
  /** Whole files. */
  files: ReadonlyMap<string, string>;
  /**
   * Directories that are replaced as a whole (generated/rules/): their files
   * by path below the directory, produced one at a time when iterated.
   */
  dirs: ReadonlyMap<string, () => Iterable<[string, string]>>;
}

/**
 * The files and directories (relative to root, a directory with a trailing
 * `/`) whose content differs from `output`: a directory when any of its
 * files differs, is missing or is not generated any more.
 */
export function staleFiles(root: string, output: Output): string[] {
  const stale: string[] = [];
  for (const [rel, content] of output.files) if (!isSame(join(root, rel), content)) stale.push(rel);
  for (const [rel, entries] of output.dirs) if (!isSameDir(join(root, rel), entries())) stale.push(`${rel}/`);
  return stale.sort();
}

/** `output` with only the entries staleFiles names. */
export function pickStale(output: Output, stale: readonly string[]): Output {
  const names = new Set(stale);
  return {
    files: new Map([...output.files].filter(([rel]) => names.has(rel))),
    dirs: new Map([...output.dirs].filter(([rel]) => names.has(`${rel}/`))),
  };
}

function isSame(path: string, content: string): boolean {
  try {
    return sameContent(path, content);
  } catch {
    return false; // absent, or not a file: either way not up to date
  }
}

function isSameDir(dir: string, entries: Iterable<[string, string]>): boolean {
  const onDisk = new Set<string>();
  const walk = (sub: string): void => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else onDisk.add(rel);
    }
  };
  try {
    walk('');
  } catch {
    return false;
  }
  let count = 0;
  for (const [rel, content] of entries) {
    if (!onDisk.has(rel) || !isSame(join(dir, rel), content)) return false;
    count++;
  }
  return count === onDisk.size;
}

// Compared piece by piece, sizes first: the old output is never held whole
// beside the new (tens of MB for 10,000 images).
const PIECE = 1 << 20;
const OLD = Buffer.allocUnsafe(PIECE * 4);

function sameContent(path: string, content: string): boolean {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).size !== Buffer.byteLength(content)) return false;
    let offset = 0;
    for (const piece of pieces(content)) {
      const want = Buffer.from(piece, 'utf8');
      let got = 0;
      while (got < want.length) {
        const n = readSync(fd, OLD, got, want.length - got, offset + got);
        if (n === 0) return false;
        got += n;
      }
      if (!OLD.subarray(0, want.length).equals(want)) return false;
      offset += want.length;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/** What writeFiles does to the file system that tests may make fail. */
export interface WriteOps {
  rename(from: string, to: string): void;
}

const DEFAULT_OPS: WriteOps = { rename: renameSync };

const SCRATCH = /^\.(.+)\.(\d+)\.(tmp|old)$/;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Scratch files left beside the targets by a run that was killed. */
function removeLeftovers(dirs: Iterable<string>, names: ReadonlySet<string>): void {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      const m = SCRATCH.exec(f);
      if (m && names.has(m[1]) && !isRunning(Number(m[2]))) rmSync(join(dir, f), { recursive: true, force: true });
    }
  }
}

/** `content` in pieces of at most PIECE characters, never cutting a surrogate pair. */
function* pieces(content: string): Generator<string> {
  for (let i = 0, end = 0; i < content.length; i = end) {
    end = Math.min(i + PIECE, content.length);
    if (end < content.length && /[\uD800-\uDBFF]/.test(content[end - 1])) end--;
    yield content.slice(i, end);
  }
}

// Written piece by piece: writeSync(fd, string) would first encode the
// whole string into one more buffer (tens of MB for 10,000 images).
function writeDurably(path: string, content: string, flush = true): void {
  const fd = openSync(path, 'w', 0o666);
  try {
    for (const piece of pieces(content)) {
      const bytes = Buffer.from(piece, 'utf8');
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    }
    if (flush) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

interface Step {
  /** The target, absolute. */
  full: string;
  /** The new file or directory, written in full before any rename. */
  tmp: string;
  /** Where the old one is kept until every rename is done. */
  old: string;
  dir: boolean;
  hadOld: boolean;
}

export function writeFiles(root: string, output: Output, ops: WriteOps = DEFAULT_OPS): void {
  const step = (rel: string, dir: boolean): Step => {
    const full = join(root, rel);
    const scratch = (kind: string) => join(dirname(full), `.${basename(full)}.${process.pid}.${kind}`);
    return { full, tmp: scratch('tmp'), old: scratch('old'), dir, hadOld: false };
  };
  const files = [...output.files].map(([rel, content]) => ({ ...step(rel, false), content }));
  const dirs = [...output.dirs].map(([rel, entries]) => ({ ...step(rel, true), entries }));
  const plan: Step[] = [...files, ...dirs];
  removeLeftovers(new Set(plan.map((p) => dirname(p.full))), new Set(plan.map((p) => basename(p.full))));
  try {
    for (const p of files) {
      mkdirSync(dirname(p.full), { recursive: true });
      writeDurably(p.tmp, p.content);
    }
    for (const p of dirs) writeDir(p.tmp, p.entries());
    // Keep the old files: a hard link costs nothing and makes undoing a rename
    // possible. An old directory is renamed aside with the renames below.
    for (const p of files) {
      if (!existsSync(p.full)) continue;
      try {
        linkSync(p.full, p.old);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV' && (e as NodeJS.ErrnoException).code !== 'ENOTSUP') throw e;
        copyFileSync(p.full, p.old);
      }
      p.hadOld = true;
    }
    const done: Step[] = [];
    try {
      for (const p of plan) {
        if (p.dir && existsSync(p.full)) {
          ops.rename(p.full, p.old);
          p.hadOld = true;
        }
        ops.rename(p.tmp, p.full);
        done.push(p);
      }
    } catch (e) {
      const failed = plan[done.length];
      if (failed?.dir && failed.hadOld && !existsSync(failed.full)) renameSync(failed.old, failed.full);
      for (const p of done.reverse()) {
        if (p.dir) rmSync(p.full, { recursive: true, force: true });
        if (p.hadOld) renameSync(p.old, p.full);
        else rmSync(p.full, { force: true });
      }
      throw e;
    }
  } finally {
    for (const p of plan) {
      rmSync(p.tmp, { recursive: true, force: true });
      rmSync(p.old, { recursive: true, force: true });
    }
  }
}

/**
 * A new directory with `entries`, each file written in full, then flushed
 * all at once: one fsync per file costs seconds for 10,000 files, one
 * syncfs (`sync -f`, GNU coreutils) milliseconds. Where `sync -f` is
 * missing the files are not flushed before the rename; what a power loss
 * could then leave (short files) makes make fail, never lie, and
 * `npm run generate -- --check` names it.
 */
function writeDir(dir: string, entries: Iterable<[string, string]>): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const made = new Set<string>([dir]);
  for (const [rel, content] of entries) {
    const path = join(dir, rel);
    const parent = dirname(path);
    if (!made.has(parent)) {
      mkdirSync(parent, { recursive: true });
      made.add(parent);
    }
    writeDurably(path, content, false);
  }
  spawnSync('sync', ['-f', dir], { stdio: 'ignore' });
}
