// The only stage that reads the file system. It walks the images dir once, without
// following symbolic links, and returns every entry with what later stages
// need: a digest of each file's bytes, the target of each link, and the text
// of the files mkimages interprets. Everything after this is pure.

import { createHash } from 'node:crypto';
import { closeSync, type Dirent, existsSync, fstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { sha256Hex } from '../hash/sha256.js';

export type EntryKind = 'file' | 'dir' | 'link' | 'other';

export interface TreeEntry {
  /** Path below the images dir, forward slashes. */
  path: string;
  kind: EntryKind;
  /** Owner-executable bit (files only): Docker keeps it, umask does not change it. */
  executable: boolean;
  /** sha256 of the content, files only. */
  digest?: string;
  /** Link target exactly as stored; never followed. */
  linkTarget?: string;
  /** Raw bytes of files mkimages interprets (Dockerfiles, BASEIMAGE, …). */
  content?: Buffer;
  /** find(1)'s %y letter for sockets, FIFOs and devices. */
  typeLetter?: string;
}

export interface RawTree {
  /** Repository root, absolute; used only to name things in messages. */
  root: string;
  /** The images dir relative to the root, forward slashes (`images`, `test/images`). */
  imagesDir: string;
  /** False when there is no images dir at all. */
  exists: boolean;
  /** Every entry below the images dir, sorted by path (byte order). */
  entries: TreeEntry[];
  /** Entries that could not be read or named (path below the images dir, with bytes that are not UTF-8 shown as \xNN). */
  problems?: Array<{ path: string; message: string }>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A file name as text, or undefined when its bytes are not UTF-8. */
function decodeName(raw: Buffer): string | undefined {
  // Buffer's decoder is the fast one; it writes U+FFFD for bytes that are
  // not UTF-8, and only then (or for a real U+FFFD) is the strict one asked.
  const name = raw.toString('utf8');
  if (!name.includes('\uFFFD')) return name;
  try {
    return utf8.decode(raw);
  } catch {
    return undefined;
  }
}

/** A name whose bytes are not UTF-8, shown with every byte outside printable ASCII as \xNN. */
function showBytes(raw: Buffer): string {
  return [...raw].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

/** Files whose text the parsers need. */
export function isInterpretedFile(baseName: string): boolean {
  return (
    baseName === 'Dockerfile' ||
    baseName.startsWith('Dockerfile.') ||
    baseName === 'Dockerfile_windows' ||
    baseName === 'BASEIMAGE' ||
    baseName === 'VERSION' ||
    baseName === 'ALIAS' ||
    baseName === 'image.yaml' ||
    baseName === 'mkimages.yaml' ||
    baseName === '.dockerignore' ||
    baseName === 'Makefile'
  );
}

/**
 * Byte order of the UTF-8 encodings, as `LC_ALL=C sort` orders them. That is
 * code point order, which differs from JavaScript's UTF-16 order only above
 * U+FFFF; compared in place, without encoding.
 */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Sort strings in UTF-8 byte order: without surrogate pairs, the engine's own comparison is that order (and needs no callback). */
export function sortStringsByBytes(items: string[]): string[] {
  return items.some((s) => SURROGATE.test(s)) ? items.sort(compareBytes) : items.sort();
}

/**
 * Sort in UTF-8 byte order. Without characters above U+FFFF (no surrogate
 * pairs), JavaScript's own string order is that order, and much faster.
 */
export function sortByBytes<T>(items: T[], key: (item: T) => string): T[] {
  if (items.some((i) => SURROGATE.test(key(i)))) return items.sort((a, b) => compareBytes(key(a), key(b)));
  return items.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

// Files are hashed through one reused buffer: only the files the parsers
// read are kept whole, so memory does not grow with the tree's content.
const CHUNK = Buffer.allocUnsafe(64 * 1024);

/** One regular file: its digest, owner-x bit and, when `keep`, its bytes. */
function readFile(path: string, full: string, keep: boolean): TreeEntry {
  const fd = openSync(full, 'r');
  try {
    const stat = fstatSync(fd);
    const executable = (stat.mode & 0o100) !== 0;
    // Most files fit the buffer: one read, hashed in one call. Otherwise
    // (a full buffer, or fewer bytes than fstat said) read on to the end.
    const n = readSync(fd, CHUNK, 0, CHUNK.length, null);
    let digest: string;
    let content: Buffer | undefined;
    if (n < CHUNK.length && n >= stat.size) {
      const bytes = CHUNK.subarray(0, n);
      digest = sha256Hex(bytes);
      if (keep) content = Buffer.from(bytes);
    } else {
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      for (let got = n; got > 0; got = readSync(fd, CHUNK, 0, CHUNK.length, null)) {
        hash.update(CHUNK.subarray(0, got));
        if (keep) kept.push(Buffer.from(CHUNK.subarray(0, got)));
      }
      digest = hash.digest('hex');
      if (keep) content = Buffer.concat(kept);
    }
    return entry(path, 'file', executable, digest, undefined, content, undefined);
  } finally {
    closeSync(fd);
  }
}

/** Every entry with the same fields in the same order, so the stages after this see one object shape. */
function entry(path: string, kind: EntryKind, executable: boolean, digest: string | undefined, linkTarget: string | undefined, content: Buffer | undefined, typeLetter: string | undefined): TreeEntry {
  return { path, kind, executable, digest, linkTarget, content, typeLetter };
}

/**
 * A folder's entries, named as text and sorted by the bytes of their names;
 * a name that is not UTF-8 is reported and left out. Names are read as text
 * (a string each, no Buffer); only a folder where Node had to write U+FFFD
 * is read again as bytes, to tell a real U+FFFD from bytes that are not
 * UTF-8, and its entries are given their checked names.
 */
function readFolder(full: string, rel: string, problems: Array<{ path: string; message: string }>): Dirent[] {
  let dirents = readdirSync(full, { withFileTypes: true });
  if (dirents.some((d) => d.name.includes('\uFFFD'))) {
    dirents = [];
    for (const d of readdirSync(full, { withFileTypes: true, encoding: 'buffer' })) {
      const name = decodeName(d.name);
      // A name that is not UTF-8 cannot be hashed the way make's find/sort see it, so it is reported, not guessed at.
      if (name === undefined) {
        problems.push({ path: rel ? `${rel}/${showBytes(d.name)}` : showBytes(d.name), message: 'file name is not valid UTF-8, expected a UTF-8 name, found other bytes (shown as \\xNN)' });
      } else dirents.push(Object.assign(d, { name }) as unknown as Dirent);
    }
  }
  if (dirents.some((d) => SURROGATE.test(d.name))) return dirents.sort((a, b) => compareBytes(a.name, b.name));
  return dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `dir`: the images dir relative to root (checked by checkImagesDir). */
export function readTree(root: string, dir = 'images'): RawTree {
  const imagesDir = resolve(root, dir);
  if (!existsSync(imagesDir) || !statSync(imagesDir).isDirectory()) {
    return { root, imagesDir: dir, exists: false, entries: [] };
  }
  const entries: TreeEntry[] = [];
  const problems: Array<{ path: string; message: string }> = [];
  const unreadable = (path: string, e: unknown) =>
    problems.push({ path, message: `cannot be read, expected a readable file or folder, found ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
  // A plain walk rather than a glob: glob matchers silently skip names that
  // hold a line break, and every name must be seen for hashes to be honest.
  // Entries come out in byte order of their paths without sorting the whole
  // list: each folder's names are sorted, and a subfolder's entries go where
  // `name/` sorts among its siblings (after `name-x` and `name.x`).
  const walk = (rel: string) => {
    const full = rel ? `${imagesDir}/${rel}` : imagesDir;
    let dirents: Dirent[];
    try {
      dirents = readFolder(full, rel, problems);
    } catch (e) {
      unreadable(rel, e);
      return;
    }
    // Subfolders whose entries wait for their place (`a/…` after `a-b`),
    // as `path/`, in byte order: `a-b/` goes before `a/`.
    const pending: string[] = [];
    for (const d of dirents) {
      const name = d.name;
      const path = rel ? `${rel}/${name}` : name;
      while (pending.length > 0 && compareBytes(pending[0], path) < 0) walk(pending.shift()!.slice(0, -1));
      if (d.isSymbolicLink()) {
        try {
          entries.push(entry(path, 'link', false, undefined, readlinkSync(`${imagesDir}/${path}`), undefined, undefined));
        } catch (e) {
          unreadable(path, e);
        }
      } else if (d.isDirectory()) {
        entries.push(entry(path, 'dir', false, undefined, undefined, undefined, undefined));
        const key = `${path}/`;
        let at = pending.length;
        while (at > 0 && compareBytes(pending[at - 1], key) > 0) at--;
        pending.splice(at, 0, key);
      } else if (d.isFile()) {
        try {
          entries.push(readFile(path, `${imagesDir}/${path}`, isInterpretedFile(name)));
        } catch (e) {
          unreadable(path, e);
        }
      } else {
        const typeLetter = d.isFIFO() ? 'p' : d.isSocket() ? 's' : d.isCharacterDevice() ? 'c' : d.isBlockDevice() ? 'b' : 'U';
        entries.push(entry(path, 'other', false, undefined, undefined, undefined, typeLetter));
      }
    }
    for (const p of pending) walk(p.slice(0, -1));
  };
  walk('');
  return { root, imagesDir: dir, exists: true, entries, problems: sortByBytes(problems, (p) => p.path) };
}

// Kept to characters that make, sh, find -path and awk all take literally.
const DIR_COMPONENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * The images dir (`--images-dir`, absolute or relative to root) as a path
 * relative to root with forward slashes, or what is wrong with it: it must
 * lie below the root, outside generated/, and be spelt with letters,
 * digits, ".", "_" and "-" only, since make and sh read it as it is.
 */
export function checkImagesDir(root: string, dir: string): { dir: string } | { problem: string } {
  const rel = relative(resolve(root), resolve(root, dir)).split(sep).join('/');
  if (rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel)) {
    return { problem: `--images-dir ${JSON.stringify(dir)} is not below the repository root ${JSON.stringify(root)}, expected a folder inside it such as images or test/images` };
  }
  if (!rel.split('/').every((c) => DIR_COMPONENT.test(c))) {
    return { problem: `--images-dir ${JSON.stringify(dir)} has characters make or sh would read, expected folder names of letters, digits, ".", "_" and "-", found ${JSON.stringify(rel)}` };
  }
  if (rel === 'generated' || rel.startsWith('generated/')) {
    return { problem: `--images-dir ${JSON.stringify(dir)} is inside generated/, expected a folder outside the generated output` };
  }
  return { dir: rel };
}
