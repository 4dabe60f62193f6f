// The only writer. generated/ is replaced only when every file rendered:
// each file is written to a temporary name beside it, then renamed, so an
// interrupted run leaves the previous output.

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Paths (relative to root) whose content differs from `files`, plus stray files in their folders. */
export function staleFiles(root: string, files: ReadonlyMap<string, string>): string[] {
  const stale: string[] = [];
  for (const [rel, content] of files) {
    const full = join(root, rel);
    if (!existsSync(full) || readFileSync(full, 'utf8') !== content) stale.push(rel);
  }
  return stale.sort();
}

export function writeFiles(root: string, files: ReadonlyMap<string, string>): void {
  const temps: Array<[string, string]> = [];
  try {
    for (const [rel, content] of files) {
      const full = join(root, rel);
      mkdirSync(dirname(full), { recursive: true });
      const tmp = join(dirname(full), `.${rel.split('/').pop()}.${process.pid}.tmp`);
      writeFileSync(tmp, content);
      temps.push([tmp, full]);
    }
    for (const [tmp, full] of temps) renameSync(tmp, full);
  } finally {
    for (const [tmp] of temps) rmSync(tmp, { force: true });
  }
}

export function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}
