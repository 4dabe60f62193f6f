// The per-image freshness listing: folderListingCommand run by sh on real
// folders prints exactly Image.sums, before and after each kind of change,
// and each change changes it.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../../generator/diagnostics.js';
import { folderListingCommand } from '../../generator/hash/fingerprint.js';
import { buildModel } from '../../generator/model/build.js';
import { loadSchemas } from '../../generator/schemas.js';
import type { Model } from '../../generator/model/types.js';
import { readTree } from '../../generator/scan/tree.js';
import { makeTree, removeTree, type Spec } from '../support/tree.js';

const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));

const DIR = 'test/images';

const TREE: Spec = {
  'test/images/mkimages.yaml': 'defaultPlatforms: [linux/amd64]\n',
  'test/images/app/Dockerfile': 'FROM scratch\nCOPY . /\n',
  'test/images/app/data.txt': 'one\n',
  'test/images/app/with space': 'a\n',
  'test/images/app/line\nbreak': 'b\n',
  'test/images/app/back\\slash': 'c\n',
  'test/images/app/bin/run': { exec: '#!/bin/sh\n' },
  'test/images/app/link': { link: 'data.txt' },
  'test/images/app/dangling': { link: '../../nowhere' },
  // Nested images: their own sums, pruned from app's.
  'test/images/app/plugin/Dockerfile': 'FROM scratch\n',
  'test/images/app/plugin/p.txt': 'p\n',
  'test/images/app/deep/er/Dockerfile': 'FROM scratch\n',
  'test/images/app/deep/note': 'n\n',
  'test/images/other/Dockerfile': 'FROM scratch\n',
};

function modelOf(root: string): Model {
  const d = new Diagnostics();
  const model = buildModel(readTree(root, DIR), d, loadSchemas());
  expect(d.sorted().map(formatDiagnostic)).toEqual([]);
  return model;
}

/** What sh prints for one image, run in the images dir as Image.sums says. */
function shellSums(root: string, model: Model, name: string): string {
  const img = model.images.find((i) => i.name === name)!;
  const out = spawnSync('sh', ['-c', folderListingCommand(`'${img.name}'`, img.nestedImages.map((n) => `'${n}'`))], {
    cwd: join(root, DIR),
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
  });
  expect(out.stderr).toBe('');
  return out.stdout;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sumsOf = (m: Model, name: string) => m.images.find((i) => i.name === name)!.sums;

describe('per-image listing (Image.sums)', () => {
  it('is what folderListingCommand prints, nested image folders left out', () => {
    const root = makeTree(TREE);
    roots.push(root);
    const model = modelOf(root);
    expect(model.images.map((i) => [i.name, i.nestedImages])).toEqual([
      ['app', ['app/deep/er', 'app/plugin']],
      ['app/deep/er', []],
      ['app/plugin', []],
      ['other', []],
    ]);
    for (const img of model.images) expect(shellSums(root, model, img.name)).toBe(img.sums);
    const app = sumsOf(model, 'app').split('\0');
    expect(app).toContain('d app -> ');
    expect(app).toContain('d app/deep -> ');
    expect(app).toContain('f app/deep/note');
    expect(app).toContain('x app/bin/run');
    expect(app).toContain('l app/link -> data.txt');
    expect(app).toContain('f app/line\nbreak');
    expect(app).toContain('f app/with space');
    expect(app).toContain(`${sha256('one\n')}  app/data.txt`);
    expect(app.filter((r) => r.includes('plugin') || r.includes('deep/er'))).toEqual([]);
    expect(sumsOf(model, 'app/plugin').split('\0')).toContain('f app/plugin/p.txt');
    // The whole format: NUL-terminated records in byte order.
    expect(sumsOf(model, 'other')).toBe(`${[`${sha256('FROM scratch\n')}  other/Dockerfile`, 'd other -> ', 'f other/Dockerfile'].sort().join('\0')}\0`);
    const settings = spawnSync('sh', ['-c', folderListingCommand('mkimages.yaml')], { cwd: join(root, DIR), encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    expect(model.settingsSums).toBe(settings.stdout);
    expect(model.settingsSums.split('\0')).toContain('f mkimages.yaml');
  });

  const changes: Array<[string, (dir: string) => void, string[]]> = [
    ['a file added', (d) => writeFileSync(join(d, 'app/new'), ''), ['app']],
    ['a file removed', (d) => unlinkSync(join(d, 'app/data.txt')), ['app']],
    ['a file changed', (d) => writeFileSync(join(d, 'app/data.txt'), 'two\n'), ['app']],
    ['a file made executable', (d) => chmodSync(join(d, 'app/data.txt'), 0o755), ['app']],
    ['the executable bit cleared', (d) => chmodSync(join(d, 'app/bin/run'), 0o644), ['app']],
    ['an empty folder added', (d) => mkdirSync(join(d, 'app/empty')), ['app']],
    ['a link retargeted', (d) => (unlinkSync(join(d, 'app/link')), symlinkSync('with space', join(d, 'app/link'))), ['app']],
    ['a file replaced by a link to itself', (d) => (unlinkSync(join(d, 'app/data.txt')), symlinkSync('data.txt', join(d, 'app/data.txt'))), ['app']],
    ['a name with a space changed', (d) => writeFileSync(join(d, 'app/with space'), 'A\n'), ['app']],
    ['a name with a line break renamed', (d) => renameSync(join(d, 'app/line\nbreak'), join(d, 'app/line\nbreak2')), ['app']],
    ['a file in a plain subfolder changed', (d) => writeFileSync(join(d, 'app/deep/note'), 'N\n'), ['app']],
    ['a file in a nested image changed', (d) => writeFileSync(join(d, 'app/plugin/p.txt'), 'P\n'), ['app/plugin']],
    ['a file in a deeper nested image added', (d) => writeFileSync(join(d, 'app/deep/er/x'), ''), ['app/deep/er']],
    ['the other image removed', (d) => rmSync(join(d, 'other/Dockerfile')), ['other']],
  ];

  it.each(changes)('%s: sh and the model agree, and only that folder changes', (_what, change, changed) => {
    const root = makeTree(TREE);
    roots.push(root);
    const before = modelOf(root);
    change(join(root, DIR));
    const names = before.images.map((i) => i.name);
    // What make would compare: sh now against the sums written before.
    const differing = names.filter((n) => shellSums(root, before, n) !== sumsOf(before, n));
    expect(differing).toEqual(changed);
    // And what the next generation computes is what sh prints.
    const after = readTree(root, DIR);
    const d = new Diagnostics();
    const model = buildModel(after, d, loadSchemas());
    for (const img of model.images) expect(shellSums(root, before, img.name)).toBe(img.sums);
  });

  it('a missing folder lists as nothing', () => {
    const root = makeTree(TREE);
    roots.push(root);
    const out = spawnSync('sh', ['-c', `${folderListingCommand('gone')} 2>/dev/null`], { cwd: join(root, DIR), encoding: 'utf8' });
    expect(out.stdout).toBe('');
  });
});
