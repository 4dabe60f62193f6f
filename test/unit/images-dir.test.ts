// --images-dir: the tree is read from DIR below the root, DIR/mkimages.yaml is
// the settings file, generated/ stays at the root, and every path in the
// model and in messages is relative to the root.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../../generator/diagnostics.js';
import { folderListingCommand } from '../../generator/hash/fingerprint.js';
import { buildModel } from '../../generator/model/build.js';
import { loadSchemas } from '../../generator/schemas.js';
import { checkImagesDir, readTree } from '../../generator/scan/tree.js';
import { makeTree, removeTree, runMain } from '../support/tree.js';

const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));

const TREE = {
  'test/images/mkimages.yaml': 'registry: registry.example/e2e\n',
  'test/images/agnhost/Dockerfile': 'FROM scratch\nCOPY . /\n',
  'test/images/agnhost/VERSION': '2.52\n',
  'test/images/agnhost/run.sh': { exec: '#!/bin/sh\n' },
  'test/images/busybox/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/agnhost:2.52\n',
  'test/images/busybox/image.yaml': 'dependsOn: [agnhost]\n',
};

describe('--images-dir', () => {
  it('reads DIR and DIR/mkimages.yaml, names folders relative to the root, writes generated/ at the root', () => {
    const root = makeTree(TREE);
    roots.push(root);
    const r = runMain(root, '--images-dir', 'test/images');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(root, 'generated/images.mk'))).toBe(true);
    expect(existsSync(join(root, 'test/images/generated'))).toBe(false);
    const catalog = JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as { images: Array<{ name: string; folder: string; parents: string[] }> };
    expect(catalog.images.map((i) => [i.name, i.folder, i.parents])).toEqual([
      ['agnhost', 'test/images/agnhost', []],
      ['busybox', 'test/images/busybox', ['agnhost']],
    ]);
    const d = new Diagnostics();
    const model = buildModel(readTree(root, 'test/images'), d, loadSchemas());
    expect(model.settings.imagesDir).toBe('test/images');
    expect(model.settings.registry).toBe('registry.example/e2e');
    expect(model.images.map((i) => i.dir)).toEqual(['test/images/agnhost', 'test/images/busybox']);
  });

  it('without it, a tree kept in test/images is not found, and said so', () => {
    const root = makeTree(TREE);
    roots.push(root);
    const r = runMain(root);
    expect(r.stderr.split('\n')[0]).toBe('images: not found, expected a folder images/ with one folder per image');
    expect(r.status).toBe(1);
  });

  it('names DIR in every message', () => {
    const root = makeTree({
      'test/images/mkimages.yaml': 'registery: typo\n',
      'test/images/a/Dockerfile': 'FROM scratch\n',
      'test/images/a/VERSION': '1.0 beta\n',
      'test/images/a/image.yaml': 'dependsOn: [nothing]\n',
      'test/images/Dockerfile': 'FROM scratch\n',
      'test/images/Bad/Dockerfile': 'FROM scratch\n',
      'test/images/c/image.yml': 'version: "1"\n',
    });
    roots.push(root);
    const d = new Diagnostics();
    buildModel(readTree(root, 'test/images'), d, loadSchemas());
    expect(d.sorted().map(formatDiagnostic)).toEqual([
      'test/images/Bad: folder name is not a valid repository path, expected lowercase [a-z0-9] words joined by ".", "_", "__" or "-", found "Bad"',
      'test/images/Dockerfile: is directly in test/images/, expected it inside an image folder such as test/images/<name>/',
      'test/images/a/VERSION:1: invalid tag, expected at most 128 letters, digits, "_", "." or "-" not starting with "." or "-", found "1.0 beta"',
      'test/images/a/image.yaml:1: dependsOn names no image of this tree, expected a folder name below test/images/ such as "base", found "nothing"',
      'test/images/c/image.yml: warning: is not read, expected the name image.yaml, found "image.yml"',
      'test/images/mkimages.yaml:1: unknown key "registery" in the top level, expected one of defaultPlatforms, registry, localPrefix, source, windowsOsVersions, compatibility',
    ]);
    const missing = new Diagnostics();
    buildModel(readTree(root, 'no/such'), missing, loadSchemas());
    expect(missing.sorted().map(formatDiagnostic)).toEqual(['no/such: not found, expected a folder no/such/ with one folder per image']);
  });

  it('accepts a folder below the root, relative or absolute, and refuses anything else', () => {
    const root = makeTree({});
    roots.push(root);
    expect(checkImagesDir(root, 'test/images')).toEqual({ dir: 'test/images' });
    expect(checkImagesDir(root, './test//images/')).toEqual({ dir: 'test/images' });
    expect(checkImagesDir(root, join(root, 'test/images'))).toEqual({ dir: 'test/images' });
    for (const bad of ['.', '..', '../images', '/etc', 'generated', 'generated/images', 'my images', 'a/$(x)', '-x', 'a;b']) {
      expect(checkImagesDir(root, bad)).toHaveProperty('problem');
    }
    const r = runMain(root, '--images-dir', '../elsewhere');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^mkimages: --images-dir "\.\.\/elsewhere" is not below the repository root/);
  });

  it("an image's listing is what folderListingCommand prints in DIR", () => {
    const root = makeTree(TREE);
    roots.push(root);
    const model = buildModel(readTree(root, 'test/images'), new Diagnostics(), loadSchemas());
    const img = model.images.find((i) => i.name === 'agnhost')!;
    const out = spawnSync('sh', ['-c', folderListingCommand('agnhost', img.nestedImages)], { cwd: join(root, 'test/images'), encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe(img.sums);
    expect(img.sums).toContain('  agnhost/run.sh\0');
    expect(img.sums).toContain('\0x agnhost/run.sh\0');
  });
});
