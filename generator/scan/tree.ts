// The only stage that reads the file system. It walks images/ once, without
// following symbolic links, and returns every entry with what later stages
// need: a digest of each file's bytes, the target of each link, and the text
// of the files mkimages interprets. Everything after this is pure.

import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type EntryKind = 'file' | 'dir' | 'link' | 'other';

export interface TreeEntry {
  /** Path below images/, forward slashes. */
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
  /** False when there is no images/ folder at all. */
  exists: boolean;
  /** Every entry below images/, sorted by path (byte order). */
  entries: TreeEntry[];
  /** Entries that could not be read or named (path below images/, with bytes that are not UTF-8 shown as \xNN). */
  problems?: Array<{ path: string; message: string }>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A file name as text, or undefined when its bytes are not UTF-8. */
function decodeName(raw: Buffer): string | undefined {
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

export function compareBytes(a: string, b: string): number {
  // Byte order of the UTF-8 encodings, as `LC_ALL=C sort` orders them.
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function readTree(root: string): RawTree {
  const imagesDir = join(root, 'images');
  if (!existsSync(imagesDir) || !statSync(imagesDir).isDirectory()) {
    return { root, exists: false, entries: [] };
  }
  const entries: TreeEntry[] = [];
  const problems: Array<{ path: string; message: string }> = [];
  const unreadable = (path: string, e: unknown) =>
    problems.push({ path, message: `cannot be read, expected a readable file or folder, found ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
  // A plain walk rather than a glob: glob matchers silently skip names that
  // hold a line break, and every name must be seen for hashes to be honest.
  const walk = (rel: string) => {
    let dirents;
    try {
      dirents = readdirSync(rel ? join(imagesDir, rel) : imagesDir, { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      unreadable(rel, e);
      return;
    }
    for (const d of dirents) {
      // Names are read as bytes: a name that is not UTF-8 cannot be hashed
      // the way make's find/sort see it, so it is reported, not guessed at.
      const name = decodeName(d.name);
      if (name === undefined) {
        const path = rel ? `${rel}/${showBytes(d.name)}` : showBytes(d.name);
        problems.push({ path, message: 'file name is not valid UTF-8, expected a UTF-8 name, found other bytes (shown as \\xNN)' });
        continue;
      }
      const path = rel ? `${rel}/${name}` : name;
      const full = join(imagesDir, path);
      if (d.isSymbolicLink()) {
        try {
          entries.push({ path, kind: 'link', executable: false, linkTarget: readlinkSync(full) });
        } catch (e) {
          unreadable(path, e);
        }
      } else if (d.isDirectory()) {
        entries.push({ path, kind: 'dir', executable: false });
        walk(path);
      } else if (d.isFile()) {
        let bytes: Buffer;
        try {
          bytes = readFileSync(full);
        } catch (e) {
          unreadable(path, e);
          continue;
        }
        entries.push({
          path,
          kind: 'file',
          executable: (lstatSync(full).mode & 0o100) !== 0,
          digest: createHash('sha256').update(bytes).digest('hex'),
          content: isInterpretedFile(name) ? bytes : undefined,
        });
      } else {
        const typeLetter = d.isFIFO() ? 'p' : d.isSocket() ? 's' : d.isCharacterDevice() ? 'c' : d.isBlockDevice() ? 'b' : 'U';
        entries.push({ path, kind: 'other', executable: false, typeLetter });
      }
    }
  };
  walk('');
  entries.sort((a, b) => compareBytes(a.path, b.path));
  problems.sort((a, b) => compareBytes(a.path, b.path));
  return { root, exists: true, entries, problems };
}
