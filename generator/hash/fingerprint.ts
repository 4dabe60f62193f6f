// The fingerprint F of an image folder lets make refuse to trust a tag when
// the folder changed after generation, with standard tools only (no Node at
// build time). It covers every entry of the folder (it cannot know
// .dockerignore), so it is a superset of what the content hash H covers.
//
// F must equal what FINGERPRINT_COMMAND prints in the folder; both sides
// are defined here, next to each other, and a test runs the shell side.

import { createHash } from 'node:crypto';
import type { TreeEntry } from '../scan/tree.js';

/**
 * Shell pipeline run by make in the image folder. Records are NUL-terminated
 * and sorted by bytes; `sha256sum -z` prints file names unescaped.
 * Written for sh inside a make recipe: `$$` stands for `$`.
 */
export const FINGERPRINT_COMMAND =
  "{ find . -mindepth 1 \\( -type f -perm -u=x -printf 'x %P\\0' \\) -o \\( -type f -printf 'f %P\\0' \\) -o -printf '%y %P -> %l\\0' | LC_ALL=C sort -z;" +
  ' find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum -z --; } | sha256sum';

function record(e: TreeEntry, rel: string): string {
  switch (e.kind) {
    case 'file':
      return `${e.executable ? 'x' : 'f'} ${rel}`;
    case 'dir':
      return `d ${rel} -> `;
    case 'link':
      return `l ${rel} -> ${e.linkTarget ?? ''}`;
    default:
      return `${e.typeLetter ?? 'U'} ${rel} -> `;
  }
}

const NUL = Buffer.from([0]);

function sortedBuffers(items: string[]): Buffer[] {
  return items.map((s) => Buffer.from(s, 'utf8')).sort(Buffer.compare);
}

/** `entries` are the folder's entries with paths relative to the folder. */
export function fingerprintFolder(entries: ReadonlyArray<{ entry: TreeEntry; rel: string }>): string {
  const h = createHash('sha256');
  for (const b of sortedBuffers(entries.map(({ entry, rel }) => record(entry, rel)))) h.update(b).update(NUL);
  const files = entries.filter(({ entry }) => entry.kind === 'file');
  const byName = new Map(files.map(({ entry, rel }) => [`./${rel}`, entry.digest ?? '']));
  for (const name of sortedBuffers([...byName.keys()])) {
    const n = name.toString('utf8');
    h.update(`${byName.get(n)}  ${n}`).update(NUL);
  }
  return h.digest('hex');
}
