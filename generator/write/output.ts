// The only writer. generated/ is changed only when every file rendered:
// every new or changed file is first written in full under a temporary name
// beside its target, the old files are kept as hard links, and only then are
// the new files renamed into place and the files no longer generated
// removed. A failure while renaming puts the old files back, so a run that
// fails changes nothing; the temporary files and links are always removed.
//
// Only what differs is written: a rerun after one image changed rewrites
// the rules file that holds it and the few files about every image, not
// the rules of 10,000 images (on a file system mounted with `discard`,
// deleting and creating many files costs seconds).
//
// The renames of one run are separate system calls: the CLI holds SIGINT,
// SIGTERM and SIGHUP while they run, so only SIGKILL or a power loss in
// that window could leave old and new files side by side, and the next
// `npm run generate` (or `--check`) sees it.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, fsyncSync, linkSync, copyFileSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A directory of generated files (generated/rules/), rendered one file at a time. */
export interface OutputDir {
  /** Its files, by path below the directory. */
  names: readonly string[];
  /** The content of one of them, rendered when asked for (never all held at once). */
  content(name: string): string;
}

/** What the generator writes, by path relative to the repository root. */
export interface Output {
  /** Whole files. */
  files: ReadonlyMap<string, string>;
  /** Directories that hold exactly the files given (others in them are removed). */
  dirs: ReadonlyMap<string, OutputDir>;
  /** Files an earlier version generated and this one does not: removed where found. */
  retired?: readonly string[];
}

/** How generated/ differs from an Output. */
export interface Changes {
  /** Files to write, new or changed, relative to the root. */
  write: Set<string>;
  /** Files in the output's directories that are not generated any more, relative to the root. */
  remove: string[];
  /** What to name in messages, sorted: the files, and each directory (`generated/rules/`) with a change. */
  stale: string[];
  /** The retired files found (in `remove` and `stale` too). */
  retired: string[];
}

/** How generated/ under root differs from `output`; reads, never writes. */
export function findChanges(root: string, output: Output): Changes {
  const write = new Set<string>();
  const remove: string[] = [];
  const stale: string[] = [];
  const retired: string[] = [];
  for (const [rel, content] of output.files) {
    if (!isSame(join(root, rel), content)) {
      write.add(rel);
      stale.push(rel);
    }
  }
  for (const [rel, dir] of output.dirs) {
    const onDisk = filesUnder(join(root, rel));
    let changed = false;
    for (const name of dir.names) {
      if (!onDisk.delete(name) || !isSame(join(root, rel, name), dir.content(name))) {
        write.add(`${rel}/${name}`);
        changed = true;
      }
    }
    for (const name of onDisk) {
      if (isScratch(name)) continue;
      remove.push(`${rel}/${name}`);
      changed = true;
    }
    if (changed) stale.push(`${rel}/`);
  }
  for (const rel of output.retired ?? []) {
    if (!existsSync(join(root, rel))) continue;
    remove.push(rel);
    stale.push(rel);
    retired.push(rel);
  }
  return { write, remove: remove.sort(), stale: stale.sort(), retired };
}

/** The files and directories (`generated/rules/`) whose content differs from `output`. */
export function staleFiles(root: string, output: Output): string[] {
  return findChanges(root, output).stale;
}

function isSame(path: string, content: string): boolean {
  try {
    return sameContent(path, content);
  } catch {
    return false; // absent, or not a file: either way not up to date
  }
}

/** Every file below dir, by path relative to it; empty when dir is absent. */
function filesUnder(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (sub: string): void => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else found.add(rel);
    }
  };
  if (existsSync(dir)) walk('');
  return found;
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
const isScratch = (path: string): boolean => SCRATCH.test(basename(path));

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Scratch files left beside the targets by a run that was killed. */
function removeLeftovers(dirs: Iterable<string>): void {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      const m = SCRATCH.exec(f);
      if (m && isGenerated(m[1]) && !isRunning(Number(m[2]))) rmSync(join(dir, f), { recursive: true, force: true });
    }
  }
}

/** A name the generator writes or wrote (images.mk, mkimages.sh, rules/<file>.mk, ...). */
const isGenerated = (name: string): boolean => /^(images\.(mk|json|md|sums)|mkimages\.sh|[a-z0-9][a-z0-9._-]*\.mk)$/.test(name);

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
function writeWhole(path: string, content: string): void {
  const fd = openSync(path, 'w', 0o666);
  try {
    for (const piece of pieces(content)) {
      const bytes = Buffer.from(piece, 'utf8');
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The new files reach the disk before any is renamed into place: all at once
 * with one syncfs (`sync -f`, GNU coreutils 8.24+) rather than an fsync
 * each (a journal commit each: 256 rules files at 10,000 images); one
 * fsync per file where `sync -f` is missing.
 */
function flush(paths: string[]): void {
  if (paths.length === 0) return;
  if (spawnSync('sync', ['-f', paths[0]], { stdio: 'ignore' }).status === 0) return;
  for (const path of paths) {
    const fd = openSync(path, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

interface Step {
  /** The target, absolute. */
  full: string;
  /** The new file, written in full before any rename (none: the target is removed). */
  tmp?: string;
  /** Where the old file is kept until every rename is done. */
  old: string;
  hadOld: boolean;
  /** Renamed into place (or removed). */
  placed: boolean;
}

/**
 * Writes what `changes` (default: findChanges) says differs: new and changed
 * files, and the removal of files no longer generated, all or nothing.
 */
export function writeFiles(root: string, output: Output, changes: Changes = findChanges(root, output), ops: WriteOps = DEFAULT_OPS): void {
  const scratch = (full: string, kind: string) => join(dirname(full), `.${basename(full)}.${process.pid}.${kind}`);
  const step = (rel: string, removed = false): Step => {
    const full = join(root, rel);
    return { full, tmp: removed ? undefined : scratch(full, 'tmp'), old: scratch(full, 'old'), hadOld: false, placed: false };
  };
  const plan: Step[] = [];
  const made = new Set<string>();
  const folder = (path: string) => {
    if (!made.has(dirname(path))) {
      mkdirSync(dirname(path), { recursive: true });
      made.add(dirname(path));
    }
  };
  try {
    const dirs = new Set([...output.files.keys(), ...changes.write, ...changes.remove].map((rel) => dirname(join(root, rel))));
    removeLeftovers(dirs);
    const write = (rel: string, content: string) => {
      const p = step(rel);
      plan.push(p);
      folder(p.full);
      writeWhole(p.tmp!, content);
    };
    for (const [rel, content] of output.files) if (changes.write.has(rel)) write(rel, content);
    for (const [rel, dir] of output.dirs) {
      for (const name of dir.names) if (changes.write.has(`${rel}/${name}`)) write(`${rel}/${name}`, dir.content(name));
    }
    flush(plan.map((p) => p.tmp!));
    for (const rel of changes.remove) plan.push(step(rel, true));
    // Keep the old files: a hard link costs nothing and makes undoing a rename possible.
    for (const p of plan) {
      if (!existsSync(p.full)) continue; // a new file (no exception thrown per file: that costs more)
      try {
        linkSync(p.full, p.old);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'ENOTSUP' && code !== 'EPERM') throw e;
        copyFileSync(p.full, p.old);
      }
      p.hadOld = true;
    }
    const done: Step[] = [];
    try {
      for (const p of plan) {
        if (p.tmp) ops.rename(p.tmp, p.full);
        else unlinkSync(p.full);
        p.placed = true;
        done.push(p);
      }
    } catch (e) {
      for (const p of done.reverse()) {
        if (p.hadOld) renameSync(p.old, p.full);
        else rmSync(p.full, { force: true });
        p.hadOld = false;
      }
      throw e;
    }
  } finally {
    for (const p of plan) {
      if (p.tmp && !p.placed) rmSync(p.tmp, { force: true });
      if (p.hadOld) rmSync(p.old, { force: true });
    }
  }
  // A nested image's folder that no file is left in.
  for (const rel of changes.remove) removeEmptyParents(dirname(join(root, rel)), root);
}

function removeEmptyParents(dir: string, root: string): void {
  for (let d = dir; d.startsWith(`${root}/generated/`); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone): stop here
    }
  }
}
