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

import { closeSync, existsSync, fsyncSync, linkSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Paths (relative to root) whose content differs from `files`. */
export function staleFiles(root: string, files: ReadonlyMap<string, string>): string[] {
  const stale: string[] = [];
  for (const [rel, content] of files) {
    let current: string | undefined;
    try {
      current = readFileSync(join(root, rel), 'utf8');
    } catch {
      current = undefined; // absent, or not a file: either way not up to date
    }
    if (current !== content) stale.push(rel);
  }
  return stale.sort();
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
      if (m && names.has(m[1]) && !isRunning(Number(m[2]))) rmSync(join(dir, f), { force: true });
    }
  }
}

function writeDurably(path: string, content: string): void {
  const fd = openSync(path, 'w', 0o666);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFiles(root: string, files: ReadonlyMap<string, string>, ops: WriteOps = DEFAULT_OPS): void {
  const plan = [...files].map(([rel, content]) => {
    const full = join(root, rel);
    const scratch = (kind: string) => join(dirname(full), `.${basename(full)}.${process.pid}.${kind}`);
    return { full, content, tmp: scratch('tmp'), old: scratch('old'), hadOld: false };
  });
  removeLeftovers(new Set(plan.map((p) => dirname(p.full))), new Set(plan.map((p) => basename(p.full))));
  try {
    for (const p of plan) {
      mkdirSync(dirname(p.full), { recursive: true });
      writeDurably(p.tmp, p.content);
    }
    // Keep the old files: a hard link costs nothing and makes undoing a rename possible.
    for (const p of plan) {
      if (!existsSync(p.full)) continue;
      try {
        linkSync(p.full, p.old);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV' && (e as NodeJS.ErrnoException).code !== 'ENOTSUP') throw e;
        copyFileSync(p.full, p.old);
      }
      p.hadOld = true;
    }
    const done: typeof plan = [];
    try {
      for (const p of plan) {
        ops.rename(p.tmp, p.full);
        done.push(p);
      }
    } catch (e) {
      for (const p of done.reverse()) {
        if (p.hadOld) renameSync(p.old, p.full);
        else rmSync(p.full, { force: true });
      }
      throw e;
    }
  } finally {
    for (const p of plan) {
      rmSync(p.tmp, { force: true });
      rmSync(p.old, { force: true });
    }
  }
}

export function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}
