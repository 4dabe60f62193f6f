// Tags never lie: make refuses to trust an image's tags when its folder
// changed after generation, with standard tools only (find, sort, sha256sum,
// xargs; no Node at build time). Each listing below is a shell pipeline and
// the same text computed here from the scanned tree, byte for byte; unit
// tests run the shell side on real folders against this side.
//
// The format of every listing: NUL-terminated records, sorted by bytes
// (`LC_ALL=C sort -z`), one per entry and one more per regular file:
//
//   x PATH              regular file whose owner-executable bit is set
//   f PATH              any other regular file
//   d PATH ->           folder (note the space after "->")
//   l PATH -> TARGET    symbolic link, its target as stored (never followed)
//   T PATH ->           other entry, T being find's %y letter (p s c b D)
//   <sha256 hex>  PATH  per regular file, as `sha256sum -z` prints it (two
//                       spaces, the name unescaped)
//
// so that adding, removing or changing a file, its executable bit, an empty
// folder or a link's target changes the listing. Names may hold any byte but
// NUL, line breaks and spaces included. Folders are listed, so an empty one
// counts; permissions other than the owner's x bit, times and owners do not
// (Docker's context and the content hash do not depend on them either).
//
// - folderListingCommand(dir, pruneDirs): one folder (or one file) and
//   everything below it except pruneDirs, every PATH as find prints it from
//   the start point `dir` (find's %p). Image.sums is this run in the images
//   dir with dir = the image's name and pruneDirs = the names of the images
//   nested in it, so PATHs are relative to the images dir (`agnhost/x`)
//   and the sums do not change when the tree moves; Model.settingsSums is
//   it with dir = mkimages.yaml. It lists whole folders (make cannot read
//   .dockerignore): a superset of what the content hash covers.

import { sortStringsByBytes, type TreeEntry } from '../scan/tree.js';

/** One entry's type record; `path` as the listing prints it. */
function typeRecord(e: TreeEntry, path: string): string {
  switch (e.kind) {
    case 'file':
      return `${e.executable ? 'x' : 'f'} ${path}`;
    case 'dir':
      return `d ${path} -> `;
    case 'link':
      return `l ${path} -> ${e.linkTarget ?? ''}`;
    default:
      return `${e.typeLetter ?? 'U'} ${path} -> `;
  }
}

function joinRecords(records: string[]): string {
  sortStringsByBytes(records);
  return records.length === 0 ? '' : `${records.join('\0')}\0`;
}

/**
 * Prints the listing of one folder (or file) `dir` less the folders
 * `pruneDirs`, with the format above, PATH as find prints it from `dir`.
 * Both are shell words the caller has quoted as needed (make variables
 * allowed); each prune dir must be spelt as find prints it (`dir/sub`) and
 * hold no glob character (`-path` matches patterns). A missing `dir` lists
 * as nothing (find complains on stderr).
 */
export function folderListingCommand(dirShellWord: string, pruneDirs: readonly string[] = []): string {
  const prune = pruneDirs.length > 0 ? `\\( ${pruneDirs.map((p) => `-path ${p}`).join(' -o ')} \\) -prune -o ` : '';
  return (
    `{ find ${dirShellWord} ${prune}\\( -type f -perm -u=x -printf 'x %p\\0' \\) -o \\( -type f -printf 'f %p\\0' \\) -o -printf '%y %p -> %l\\0';` +
    ` find ${dirShellWord} ${prune}-type f -print0 | xargs -0r sha256sum -z --; } | LC_ALL=C sort -z`
  );
}

/**
 * The listing folderListingCommand prints, from scanned entries: `entries`
 * are those it covers (the start point included), `pathOf` gives each one's
 * PATH as find prints it.
 */
export function listEntries(entries: Iterable<TreeEntry>, pathOf: (e: TreeEntry) => string): string {
  const records: string[] = [];
  for (const e of entries) {
    const path = pathOf(e);
    records.push(typeRecord(e, path));
    if (e.kind === 'file') records.push(`${e.digest ?? ''}  ${path}`);
  }
  return joinRecords(records);
}

/**
 * Image.sums of each image folder (names below the images dir): the entries
 * of the tree whose deepest enclosing image folder it is, as
 * `cd <root>/<imagesDir> && folderListingCommand(<name>, <nested names>)`
 * prints them.
 */
export function listImageFolders(entries: readonly TreeEntry[], names: readonly string[]): Map<string, string> {
  const owned = new Map<string, TreeEntry[]>(names.map((n) => [n, []]));
  for (const e of entries) {
    // The deepest image folder holding e (or being e).
    for (let p = e.path; ; ) {
      const list = owned.get(p);
      if (list) {
        list.push(e);
        break;
      }
      const slash = p.lastIndexOf('/');
      if (slash < 0) break;
      p = p.slice(0, slash);
    }
  }
  const out = new Map<string, string>();
  for (const [name, list] of owned) out.set(name, listEntries(list, (e) => e.path));
  return out;
}
