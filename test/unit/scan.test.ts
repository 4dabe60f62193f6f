// readTree: entries come out in byte order of their paths without a sort of
// the whole list (each folder sorted, a subfolder's entries placed where
// `name/` sorts), digests match sha256 of the bytes whatever the file's
// size, and only the interpreted files keep their bytes.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTree } from '../../generator/scan/tree.js';
import { makeTree, removeTree, type Spec } from '../support/tree.js';

const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));

function tree(spec: Spec): string {
  const root = makeTree(spec);
  roots.push(root);
  return root;
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('readTree', () => {
  it('lists entries in byte order, a folder before siblings that extend its name with a byte below "/"', () => {
    // Names around "/" (0x2f): " ", "!", "-", "." sort before it, "0" and letters after.
    const names = ['a', 'a b', 'a!', 'a-b', 'a.c', 'a0', 'ab', 'a-', 'a-b-c', '\u00e9', '\u{1F600}', '\uFF21', '\uFFFD', 'Z'];
    const spec: Spec = {};
    for (const n of names) {
      spec[`images/${n}/f`] = n;
      spec[`images/${n}/${n}/g`] = n;
      spec[`images/x/${n}`] = n;
    }
    const root = tree(spec);
    const paths = readTree(root).entries.map((e) => e.path);
    expect(paths).toEqual([...paths].sort(byBytes));
    expect(paths).toHaveLength(names.length * 5 + 1);
  });

  it('hashes files of any size and keeps the bytes of interpreted files only', () => {
    const big = Buffer.alloc(200_000, 7);
    const exact = Buffer.alloc(64 * 1024, 1);
    const root = tree({ 'images/a/Dockerfile': 'FROM scratch\n', 'images/a/big': big, 'images/a/exact': exact, 'images/a/empty': '', 'images/a/BASEIMAGE': Buffer.alloc(70_000, 0x41) });
    const entries = new Map(readTree(root).entries.map((e) => [e.path, e]));
    for (const name of ['Dockerfile', 'big', 'exact', 'empty', 'BASEIMAGE']) {
      const bytes = readFileSync(join(root, 'images/a', name));
      expect(entries.get(`a/${name}`)?.digest).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
    expect(entries.get('a/Dockerfile')?.content?.toString()).toBe('FROM scratch\n');
    expect(entries.get('a/BASEIMAGE')?.content?.length).toBe(70_000);
    expect(entries.get('a/big')?.content).toBeUndefined();
  });

  it('reports a name that is not UTF-8 and still reads its siblings, a real U+FFFD included', () => {
    const root = tree({ 'images/a/Dockerfile': 'FROM scratch\n', 'images/a/\uFFFD': 'r' });
    writeFileSync(Buffer.concat([Buffer.from(join(root, 'images/a/bad-')), Buffer.from([0xff])]), 'b');
    const t = readTree(root);
    expect(t.entries.map((e) => e.path)).toEqual(['a', 'a/Dockerfile', 'a/\uFFFD']);
    expect(t.problems).toEqual([{ path: 'a/bad-\\xff', message: expect.stringContaining('not valid UTF-8') }]);
  });
});
