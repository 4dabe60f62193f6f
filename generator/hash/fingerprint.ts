// Tags never lie: make refuses to trust an image's tags when its folder
// changed after generation, with standard tools only (no Node at build time).
//
// generated/images.sums lists every entry under images/ as LISTING_COMMAND
// prints it: one NUL-terminated record per entry (type, owner-executable bit,
// path, link target) and one per file (`sha256sum -z`), sorted by bytes.
// Make runs LISTING_COMMAND once per run, compares with `comm`, and maps each
// differing record to the folders above it: those images are stale. The
// listing covers whole folders (make cannot read .dockerignore), a superset
// of what the content hash covers. Both sides are defined here, and a test
// runs the shell side against this file's output.

import { sortByBytes, type TreeEntry } from '../scan/tree.js';

/** Prints the listing of images/, run from the repository root. */
export const LISTING_COMMAND =
  "{ find images -mindepth 1 \\( -type f -perm -u=x -printf 'x %P\\0' \\) -o \\( -type f -printf 'f %P\\0' \\) -o -printf '%y %P -> %l\\0';" +
  ' find images -type f -print0 | xargs -0r sha256sum -z --; } | LC_ALL=C sort -z';

/**
 * Reads `comm -z -3` output (NUL-separated records, made newline-separated by
 * tr) and prints the image folders each differing record lies in: every
 * prefix of its path. A name holding a line break is cut at it, but the
 * folders above it (image names have no line break) stay whole. `.all`
 * stands for every image (images/mkimages.yaml changed).
 */
export const STALE_AWK = [
  '{ sub(/^\\t/, "");',
  '  if (substr($0, 2, 1) == " ") { t = substr($0, 1, 1); p = substr($0, 3); if (t != "f" && t != "x") { i = index(p, " -> "); if (i) p = substr(p, 1, i - 1) } }',
  '  else { p = substr($0, 67); sub(/^images\\//, "", p) }',
  '  if (p == "mkimages.yaml") { print ".all"; next }',
  '  n = split(p, parts, "/"); a = "";',
  '  for (j = 1; j <= n; j++) { a = (j == 1 ? parts[1] : a "/" parts[j]); if (a !~ / /) print a } }',
].join(' ');

function record(e: TreeEntry): string {
  switch (e.kind) {
    case 'file':
      return `${e.executable ? 'x' : 'f'} ${e.path}`;
    case 'dir':
      return `d ${e.path} -> `;
    case 'link':
      return `l ${e.path} -> ${e.linkTarget ?? ''}`;
    default:
      return `${e.typeLetter ?? 'U'} ${e.path} -> `;
  }
}

/** The listing of images/ (entries with paths relative to images/), exactly as LISTING_COMMAND prints it. */
export function listTree(entries: readonly TreeEntry[]): string {
  const records: string[] = [];
  for (const e of entries) {
    records.push(record(e));
    if (e.kind === 'file') records.push(`${e.digest ?? ''}  images/${e.path}`);
  }
  sortByBytes(records, (r) => r);
  return `${records.join('\0')}${records.length ? '\0' : ''}`;
}
