import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../../generator/diagnostics.js';
import { folderListingCommand } from '../../generator/hash/fingerprint.js';
import { readIgnorePatterns } from '../../generator/hash/content.js';
import { buildModel } from '../../generator/model/build.js';
import { loadSchemas } from '../../generator/schemas.js';
import type { Model } from '../../generator/model/types.js';
import { readTree } from '../../generator/scan/tree.js';
import { makeTree, removeTree, runCli, runMake, type Spec } from '../support/tree.js';

const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));

function modelOf(files: Spec): { model: Model; root: string; errors: string[] } {
  const root = makeTree(files);
  roots.push(root);
  const d = new Diagnostics();
  const model = buildModel(readTree(root), d, loadSchemas());
  return { model, root, errors: d.sorted().map(formatDiagnostic) };
}

const hashOf = (m: Model, name: string) => m.images.find((i) => i.name === name)?.hash;

const base: Spec = {
  'images/app/Dockerfile': 'FROM scratch\nCOPY . /\n',
  'images/app/data.txt': 'one\n',
  'images/app/.dockerignore': '*.md\n!KEEP.md\nbuild/\n',
  'images/app/VERSION': '1.0\n',
};

describe('content hash H', () => {
  it('is 16 hex digits and the same for the same input at another path', () => {
    const a = modelOf(base);
    const b = modelOf(base);
    expect(a.errors).toEqual([]);
    expect(hashOf(a.model, 'app')).toMatch(/^[0-9a-f]{16}$/);
    expect(hashOf(a.model, 'app')).toBe(hashOf(b.model, 'app'));
  });

  it('ignores what .dockerignore excludes and sees everything else', () => {
    const h0 = hashOf(modelOf(base).model, 'app');
    expect(hashOf(modelOf({ ...base, 'images/app/NOTES.md': 'x' }).model, 'app')).toBe(h0);
    expect(hashOf(modelOf({ ...base, 'images/app/build/out.o': 'x' }).model, 'app')).toBe(h0);
    expect(hashOf(modelOf({ ...base, 'images/app/KEEP.md': 'x' }).model, 'app')).not.toBe(h0);
    expect(hashOf(modelOf({ ...base, 'images/app/data.txt': 'two\n' }).model, 'app')).not.toBe(h0);
    expect(hashOf(modelOf({ ...base, 'images/app/data.txt': { exec: 'one\n' } }).model, 'app')).not.toBe(h0);
    expect(hashOf(modelOf({ ...base, 'images/app/sub/new': '' }).model, 'app')).not.toBe(h0);
    expect(hashOf(modelOf({ ...base, 'images/app/ln': { link: 'data.txt' } }).model, 'app')).not.toBe(h0);
  });

  it('prefers the Dockerfile-specific ignore file, as BuildKit does', () => {
    const h0 = hashOf(modelOf({ ...base, 'images/app/Dockerfile.dockerignore': 'data.txt\n' }).model, 'app');
    expect(hashOf(modelOf({ ...base, 'images/app/Dockerfile.dockerignore': 'data.txt\n', 'images/app/data.txt': 'changed' }).model, 'app')).toBe(h0);
  });

  it('covers BASEIMAGE, build args and the parents, and changes only descendants', () => {
    const tree: Spec = {
      'images/base/Dockerfile': 'FROM scratch\n',
      'images/base/VERSION': '1.0\n',
      'images/mid/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\n',
      'images/mid/BASEIMAGE': 'linux/amd64=REGISTRY/base:1.0-linux-amd64\n',
      'images/leaf/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/mid:2.0\n',
      'images/leaf/image.yaml': 'version: "3.0"\nbuildArgs: {X: "1"}\n',
      'images/mid/VERSION': '2.0\n',
      'images/other/Dockerfile': 'FROM scratch\n',
    };
    const a = modelOf(tree);
    expect(a.errors).toEqual([]);
    expect(a.model.images.find((i) => i.name === 'leaf')?.parents).toEqual(['mid']);
    expect(a.model.images.find((i) => i.name === 'mid')?.parents).toEqual(['base']);
    const b = modelOf({ ...tree, 'images/base/extra': 'x' });
    for (const n of ['base', 'mid', 'leaf']) expect(hashOf(b.model, n)).not.toBe(hashOf(a.model, n));
    expect(hashOf(b.model, 'other')).toBe(hashOf(a.model, 'other'));
    const c = modelOf({ ...tree, 'images/leaf/image.yaml': 'version: "3.0"\nbuildArgs: {X: "2"}\n' });
    expect(hashOf(c.model, 'leaf')).not.toBe(hashOf(a.model, 'leaf'));
    expect(hashOf(c.model, 'mid')).toBe(hashOf(a.model, 'mid'));
  });
});

describe('H covers the tag, the labels and the published name', () => {
  // The issue: with VERSION left out of the context by .dockerignore, a
  // VERSION bump left H unchanged, so the new tag pointed at old content.
  const ignored: Spec = {
    'images/app/Dockerfile': 'FROM scratch\nCOPY . /\n',
    'images/app/data.txt': 'one\n',
    'images/app/.dockerignore': 'VERSION\nimage.yaml\nALIAS\n',
    'images/app/VERSION': '1.0\n',
  };

  it('a VERSION bump changes H even when .dockerignore leaves VERSION out of the context', () => {
    const h0 = hashOf(modelOf(ignored).model, 'app');
    expect(hashOf(modelOf({ ...ignored, 'images/app/VERSION': '1.1\n' }).model, 'app')).not.toBe(h0);
    // The context is the same: only the tag differs.
    expect(hashOf(modelOf({ ...ignored, 'images/app/data.txt': 'one\n' }).model, 'app')).toBe(h0);
  });

  it('so does a version given in image.yaml, a label, the published name, and the repository source', () => {
    const h0 = hashOf(modelOf(ignored).model, 'app');
    const { 'images/app/VERSION': _version, ...withYaml } = ignored;
    const y1 = hashOf(modelOf({ ...withYaml, 'images/app/image.yaml': 'version: "1.0"\n' }).model, 'app');
    expect(hashOf(modelOf({ ...withYaml, 'images/app/image.yaml': 'version: "1.1"\n' }).model, 'app')).not.toBe(y1);
    expect(hashOf(modelOf({ ...ignored, 'images/app/image.yaml': 'labels: {team: a}\n' }).model, 'app')).not.toBe(
      hashOf(modelOf({ ...ignored, 'images/app/image.yaml': 'labels: {team: b}\n' }).model, 'app'),
    );
    expect(hashOf(modelOf({ ...ignored, 'images/app/ALIAS': 'web\n' }).model, 'app')).not.toBe(h0);
    expect(hashOf(modelOf({ ...ignored, 'images/mkimages.yaml': 'source: https://example.dev/repo\n' }).model, 'app')).not.toBe(h0);
  });

  it('an image without VERSION differs from the same image with one', () => {
    const { 'images/app/VERSION': _v, ...none } = ignored;
    expect(hashOf(modelOf(none).model, 'app')).not.toBe(hashOf(modelOf(ignored).model, 'app'));
  });
});

describe('the make-time freshness check', () => {
  const odd: Spec = {
    'images/odd/Dockerfile': 'FROM scratch\n',
    'images/odd/with space': 'a',
    'images/odd/dollar$HOME': 'b',
    'images/odd/hash#x': 'c',
    "images/odd/quote'\"`;": 'd',
    'images/odd/colon:percent%': 'e',
    'images/odd/ünïcödé': 'f',
    'images/odd/-dash': 'g',
    'images/odd/back\\slash': 'h',
    'images/odd/line\nbreak': 'i',
    'images/odd/sub/deeper/file': { exec: '#!/bin/sh\n' },
    'images/odd/empty/.keep': '',
    'images/odd/loop': { link: 'loop' },
    'images/odd/outside': { link: '/etc/passwd' },
    'images/odd/dangling': { link: '../../nowhere' },
    'images/group/nested/Dockerfile': 'FROM scratch\n',
    'images/group/nested/inner/Dockerfile': 'FROM scratch\n',
    'images/plain/Dockerfile': 'FROM scratch\n',
    'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64]\n',
  };

  it("each image's listing equals what the shell prints, for odd file names and links", () => {
    const { model, root, errors } = modelOf(odd);
    expect(errors).toEqual([]);
    expect(model.images.map((i) => i.name)).toEqual(['group/nested', 'group/nested/inner', 'odd', 'plain']);
    for (const img of model.images) {
      const cmd = folderListingCommand(img.name, img.nestedImages);
      const out = spawnSync('sh', ['-c', cmd], { cwd: join(root, 'images'), encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
      expect(out.stderr).toBe('');
      expect(out.stdout).toBe(img.sums);
    }
    expect(model.images[2].sums).toContain('\0f odd/line\nbreak\0');
    expect(model.images[2].sums).toContain('\0l odd/outside -> /etc/passwd\0');
  });

  function staleAfter(change: (root: string) => void): string[] {
    const root = makeTree(odd);
    roots.push(root);
    expect(runCli(root).status).toBe(0);
    change(root);
    // The per-goal check: make -n build-<image> refuses a changed folder, naming it.
    const names = ['group/nested', 'group/nested/inner', 'odd', 'plain'];
    const stale = names.filter((n) => {
      const r = runMake(root, ['-n', `build-${n}`, 'DOCKER=true']);
      return /changed since generated\/images.mk was written/.test(r.stderr);
    });
    return stale.length === names.length ? ['.all'] : stale;
  }

  it('names exactly the folders that changed, whatever changed in them', () => {
    expect(staleAfter(() => {})).toEqual([]);
    expect(staleAfter((r) => writeFileSync(join(r, 'images/odd/line\nbreak'), 'changed'))).toEqual(['odd']);
    expect(staleAfter((r) => chmodSync(join(r, 'images/odd/with space'), 0o755))).toEqual(['odd']);
    expect(staleAfter((r) => rmSync(join(r, 'images/odd/loop')))).toEqual(['odd']);
    expect(staleAfter((r) => writeFileSync(join(r, 'images/group/nested/inner/new file'), ''))).toEqual(['group/nested/inner']);
    expect(staleAfter((r) => writeFileSync(join(r, 'images/group/nested/new file'), ''))).toEqual(['group/nested']);
    expect(staleAfter((r) => rmSync(join(r, 'images/odd/empty/.keep')))).toEqual(['odd']);
    expect(staleAfter((r) => writeFileSync(join(r, 'images/mkimages.yaml'), 'defaultPlatforms: [linux/arm64]\n'))).toEqual(['.all']);
  });
});

describe('.dockerignore as Docker reads it', () => {
  it('drops a BOM, skips # lines before trimming, trims around !, cleans paths and makes them relative', () => {
    expect(readIgnorePatterns('\uFEFF# comment\n  foo  \r\n ! bar/ \n/abs/x\n./a/../b\n #kept\n\n*.md\n')).toEqual(['foo', '!bar', 'abs/x', 'b', '#kept', '*.md']);
  });

  it('ignores what Docker ignores, with CRLF and spaces around patterns', () => {
    const h0 = hashOf(modelOf({ ...base, 'images/app/.dockerignore': '*.md\r\n  build/  \r\n' }).model, 'app');
    expect(hashOf(modelOf({ ...base, 'images/app/.dockerignore': '*.md\r\n  build/  \r\n', 'images/app/build/out.o': 'x' }).model, 'app')).toBe(h0);
  });
});
