// Determinism: the same tree gives byte-identical generated/ whatever the
// locale, time zone, file-system order, working directory or checkout path.
// Atomicity: generated/ is replaced only when every file rendered; a failed
// or interrupted write leaves the previous output and no scratch files.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../../generator/generate.js';
import { rulesFilesOf } from '../../generator/render/makefile.js';
import { writeFiles } from '../../generator/write/output.js';
import { CLI, makeTree, outputsOf, removeTree, runMain, snapshot, writeTree, type Spec } from '../support/tree.js';

const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  roots.push(dir);
  return dir;
}



/** A tree where order matters everywhere: names that sort differently by locale, case and bytes. */
const TREE: Array<[string, string | { link: string }]> = [
  ['images/mkimages.yaml', 'defaultPlatforms: [linux/arm64, linux/amd64]\nregistry: registry.example:5000/team\n'],
  ['images/base/Dockerfile', 'ARG BASEIMAGE\r\nFROM $BASEIMAGE\r\nCOPY . /\r\n'],
  ['images/base/BASEIMAGE', 'linux/arm64=busybox:1.36\nlinux/amd64=busybox:1.36\nwindows/amd64/ltsc2022=mcr.microsoft.com/windows/nanoserver:ltsc2022\n'],
  ['images/base/Dockerfile_windows', 'ARG BASEIMAGE\nFROM $BASEIMAGE\n'],
  ['images/base/VERSION', '1.0\r\n'],
  ['images/base/Zeta.txt', 'Z\n'],
  ['images/base/alpha.txt', 'a\n'],
  ['images/base/Ärger.txt', 'ä\n'],
  ['images/base/ıi.txt', 'dotless\n'],
  ['images/base/İI.txt', 'dotted\n'],
  ['images/base/10.txt', '10\n'],
  ['images/base/9.txt', '9\n'],
  ['images/base/sub/b', 'b\n'],
  ['images/base/sub/a b', 'a b\n'],
  ['images/base/sub/$(shell touch CANARY) `x` ;#%:', 'odd\n'],
  ["images/base/sub/it's \"quoted\"", 'quotes\n'],
  ['images/base/loop', { link: 'loop' }],
  ['images/base/outside', { link: '/etc/passwd' }],
  ['images/tools/lister/Dockerfile', 'ARG REGISTRY\nFROM $REGISTRY/base:1.0\nCOPY . /\n'],
  ['images/tools/lister/.dockerignore', '*.md\n'],
  ['images/tools/lister/README.md', 'ignored\n'],
  ['images/tools/lister/list.sh', '#!/bin/sh\nls\n'],
  ['images/tools/lister/image.yaml', 'groups: [zeta, alpha, Ägypten-not-valid-but-unused]\n'],
  ['images/tools/Lister2/Dockerfile', 'FROM scratch\n'],
  ['images/web/Dockerfile', 'FROM scratch\n'],
  ['images/web/VERSION', '2.0\n'],
  ['images/web/image.yaml', 'labels:\n  z.label: "ß"\n  a.label: "İ"\nbuildArgs:\n  Z_ARG: "1"\n  A_ARG: "$(shell echo no)"\ndependsOn: [base]\ngroups: [zeta, alpha]\n'],
  ['images/web-old/Dockerfile', 'FROM scratch\n'],
  ['images/web-old/ALIAS', 'web\n'],
  ['images/web-old/VERSION', '1.9\n'],
];

// Two groups above are deliberately invalid (capitals): replaced for the valid tree.
const VALID_TREE = TREE.filter(([p]) => !p.startsWith('images/tools/Lister2/')).map(([p, c]): [string, string | { link: string }] => [
  p,
  typeof c === 'string' ? c.replace(', Ägypten-not-valid-but-unused', '') : c,
]);

function writeInOrder(root: string, entries: Array<[string, string | { link: string }]>): void {
  for (const [rel, content] of entries) {
    const full = join(root, rel);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof content === 'string') writeFileSync(full, content);
    else symlinkSync(content.link, full);
  }
}

function runCli(cwd: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
}

describe('determinism', () => {
  it('the tree used here is valid, and the invalid variant is reported the same way everywhere', () => {
    const bad = tempDir('mkimages-det-bad-');
    writeInOrder(bad, TREE);
    const r = runMain(bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('images/tools/Lister2: folder name is not a valid repository path');
    expect(r.stderr).toContain('invalid group name');
  });

  it('gives byte-identical generated/ in reverse creation order, at another path and cwd, under another locale and time zone', () => {
    // First copy: created in order, generated from inside the root with the C locale.
    const a = tempDir('mkimages-det-a-');
    writeInOrder(a, VALID_TREE);
    const ra = runCli(a, [], { LC_ALL: 'C', LANG: 'C', TZ: 'UTC' });
    expect(ra.stderr).toBe('');
    expect(ra.status).toBe(0);

    // Second copy: every file and folder created in reverse order, at a
    // longer path holding a space and non-ASCII text, generated from its
    // parent with --root, under the Turkish locale (dotted/dotless i) and
    // a time zone thirteen hours away.
    const b = join(tempDir('mkimages-det-b-'), 'another checkout ü', 'repo');
    mkdirSync(b, { recursive: true });
    writeInOrder(b, [...VALID_TREE].reverse());
    const rb = runCli(dirname(b), ['--root', basename(b)], { LC_ALL: 'tr_TR.UTF-8', LANG: 'tr_TR.UTF-8', TZ: 'Pacific/Chatham', LC_COLLATE: 'tr_TR.UTF-8' });
    expect(rb.stderr).toBe('');
    expect(rb.status).toBe(0);

    expect(snapshot(join(b, 'generated'))).toEqual(snapshot(join(a, 'generated')));
    // Nothing about where or when it ran leaks into the output.
    for (const f of Object.keys(snapshot(join(a, 'generated'))).filter((f) => f !== 'mkimages.sh')) {
      const text = readFileSync(join(a, 'generated', f), 'utf8');
      expect(text).not.toContain(a);
      expect(text).not.toContain(tmpdir());
      expect(text).not.toMatch(/20\d\d-\d\d-\d\d/);
    }
    // And the in-process pipeline agrees with both.
    const again = generate(a);
    for (const [rel, content] of outputsOf(again)) expect(readFileSync(join(b, rel), 'utf8')).toBe(content);
  });
});

describe('atomic writes', () => {
  /** A root with a valid generated/, plus an unrelated file there. */
  function generatedRoot(): { root: string; before: Record<string, string> } {
    const root = makeTree({ 'images/a/Dockerfile': 'FROM scratch\n', 'images/a/VERSION': '1.0\n' }, 'mkimages-atomic-');
    roots.push(root);
    expect(runMain(root).status).toBe(0);
    writeFileSync(join(root, 'generated/README'), 'not ours\n');
    return { root, before: snapshot(join(root, 'generated')) };
  }

  /** Change the tree so that every generated file changes. */
  const change: Spec = { 'images/a/VERSION': '2.0\n', 'images/b/Dockerfile': 'FROM scratch\n' };

  it('a rename that fails part-way puts the old files back and leaves no scratch files', () => {
    const { root, before } = generatedRoot();
    writeTree(root, change);
    const result = generate(root);
    expect(result.diagnostics).toEqual([]);
    let calls = 0;
    const failSecond = {
      rename(from: string, to: string) {
        if (++calls === 2) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
        renameSync(from, to);
      },
    };
    expect(() => writeFiles(root, result, undefined, failSecond)).toThrow(/EIO/);
    expect(calls).toBe(2); // the first file had been replaced, and was put back
    expect(snapshot(join(root, 'generated'))).toEqual(before);
    // The next run writes everything.
    writeFiles(root, result);
    for (const [rel, content] of outputsOf(result)) expect(readFileSync(join(root, rel), 'utf8')).toBe(content);
    expect(readFileSync(join(root, 'generated/README'), 'utf8')).toBe('not ours\n');
  });

  it('a target that cannot be replaced (a folder where images.json goes) changes nothing, and the CLI says so', () => {
    const { root } = generatedRoot();
    writeTree(root, change);
    const json = join(root, 'generated/images.json');
    renameSync(json, `${json}.saved`);
    mkdirSync(json);
    const before = snapshot(join(root, 'generated'));
    const r = runMain(root);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mkimages: cannot write generated\/images\.json, generated\/images\.md, generated\/images\.mk, generated\/rules\/: .*; generated\/ was not changed\n$/);
    expect(snapshot(join(root, 'generated'))).toEqual(before);
    expect(readdirSync(join(root, 'generated')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('a run with errors writes nothing, not even an empty generated/', () => {
    const root = makeTree({ 'images/a/Dockerfile': '' }, 'mkimages-atomic-');
    roots.push(root);
    const r = runMain(root);
    expect(r.status).toBe(1);
    expect(existsSync(join(root, 'generated'))).toBe(false);
  });

  /**
   * A tree of 80 images (16 rules files), `changed` an image whose rules
   * file holds others too, and `gone` the images of another rules file.
   */
  function bucketedTree(): { root: string; changed: string; changedFile: string; gone: string[]; goneFile: string } {
    const spec: Spec = { 'images/g/n/Dockerfile': 'FROM scratch\n' };
    for (let i = 0; i < 79; i++) spec[`images/i${i}/Dockerfile`] = 'FROM scratch\n';
    const root = makeTree(spec, 'mkimages-incr-');
    roots.push(root);
    expect(runMain(root).status).toBe(0);
    const files = rulesFilesOf(generate(root).model!.images).map((f) => ({ file: `${f.key}.mk`, names: f.images.map((i) => i.name) }));
    expect(files.length).toBe(16);
    const withNested = files.find((f) => f.names.includes('g/n'))!;
    const other = files.find((f) => f !== withNested && f.names.length > 1)!;
    return { root, changed: other.names[0], changedFile: other.file, gone: withNested.names, goneFile: withNested.file };
  }

  it('writes only the rules files that changed, and removes those that hold no image any more', () => {
    const { root, changed, changedFile, gone, goneFile } = bucketedTree();
    const ino = (rel: string) => statSync(join(root, 'generated/rules', rel)).ino;
    const before = Object.fromEntries(readdirSync(join(root, 'generated/rules')).map((f) => [f, ino(f)]));
    writeTree(root, { [`images/${changed}/VERSION`]: '2.0\n' });
    for (const n of gone) rmSync(join(root, 'images', n.split('/')[0]), { recursive: true, force: true });
    expect(runMain(root, '--check').stderr).toContain('  generated/rules/\n');
    const r = runMain(root);
    expect(r.status, r.stderr).toBe(0);
    const after = readdirSync(join(root, 'generated/rules')).sort();
    expect(after).toEqual(Object.keys(before).filter((f) => f !== goneFile).sort());
    for (const f of after) {
      if (f === changedFile) expect(ino(f), f).not.toBe(before[f]);
      else expect(ino(f), f).toBe(before[f]); // untouched
    }
    expect(readFileSync(join(root, 'generated/rules', changedFile), 'utf8')).toContain(`${changed}_TAG       := 2.0\n`);
    expect(runMain(root, '--check').status).toBe(0);
  });

  it('a tree that shrinks to 64 images has one rules file, and the others are removed', () => {
    const { root } = bucketedTree();
    for (let i = 63; i < 79; i++) rmSync(join(root, `images/i${i}`), { recursive: true });
    expect(runMain(root).status).toBe(0);
    expect(readdirSync(join(root, 'generated/rules'))).toEqual(['all.mk']);
    expect(readFileSync(join(root, 'generated/images.mk'), 'utf8')).toMatch(/^RULES_FILES  := all\nRULES\.all := g\/n i0 i1 /m);
  });

  it('removes generated/images.sums, which earlier versions wrote', () => {
    const { root } = generatedRoot();
    writeFileSync(join(root, 'generated/images.sums'), 'old\n');
    const check = runMain(root, '--check');
    expect(check.status).toBe(1);
    expect(check.stderr).toContain('  generated/images.sums\n');
    const r = runMain(root);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('mkimages: 1 image(s); removed generated/images.sums\n');
    expect(existsSync(join(root, 'generated/images.sums'))).toBe(false);
    expect(runMain(root, '--check').status).toBe(0);
  });

  it('a failed rename puts back the rules files it changed and those it removed', () => {
    const { root, changed, changedFile, gone } = bucketedTree();
    const before = snapshot(join(root, 'generated'));
    writeTree(root, { [`images/${changed}/VERSION`]: '2.0\n' });
    for (const n of gone) rmSync(join(root, 'images', n.split('/')[0]), { recursive: true, force: true });
    const result = generate(root);
    let calls = 0;
    const failLast = {
      rename(from: string, to: string) {
        if (to.endsWith(`/rules/${changedFile}`)) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
        calls++;
        renameSync(from, to);
      },
    };
    expect(() => writeFiles(root, result, undefined, failLast)).toThrow(/EIO/);
    expect(calls).toBeGreaterThan(0);
    expect(snapshot(join(root, 'generated'))).toEqual(before);
  });

  it('--check writes nothing and names the stale files', () => {
    const { root, before } = generatedRoot();
    writeTree(root, { 'images/a/VERSION': '2.0\n' });
    const r = runMain(root, '--check');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('mkimages: generated output is not up to date; run `npm run generate`:\n  generated/images.json\n  generated/images.md\n  generated/images.mk\n  generated/rules/\n');
    expect(snapshot(join(root, 'generated'))).toEqual(before);
  });

  it('removes the scratch files of a run that was killed, and only those', () => {
    const { root } = generatedRoot();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const leftovers = [`.images.mk.${dead}.tmp`, `.images.json.${dead}.old`];
    for (const f of leftovers) writeFileSync(join(root, 'generated', f), 'half\n');
    writeFileSync(join(root, 'generated/.keep.me.1.tmp'), 'not ours\n');
    writeTree(root, change);
    expect(runMain(root).status).toBe(0);
    const names = readdirSync(join(root, 'generated')).sort();
    expect(names).toEqual(['.keep.me.1.tmp', 'README', 'images.json', 'images.md', 'images.mk', 'mkimages.sh', 'rules']);
  });

  it('an interrupted run leaves either the previous output or the new one, never a mix', async () => {
    const { root, before } = generatedRoot();
    // Enough images that the run takes a while, so signals land at different stages.
    const many: Spec = {};
    for (let i = 0; i < 150; i++) many[`images/img${i}/Dockerfile`] = `FROM scratch\nLABEL n=${i}\n`;
    writeTree(root, many);
    const after = outputsOf(generate(root));
    const isOld = (s: Record<string, string>) => JSON.stringify(s) === JSON.stringify(before);
    const isNew = (s: Record<string, string>) => [...after].every(([rel, c]) => s[rel.replace('generated/', '')] === Buffer.from(c).toString('base64'));
    const restore = () => {
      rmSync(join(root, 'generated'), { recursive: true, force: true });
      for (const [f, content] of Object.entries(before)) {
        mkdirSync(dirname(join(root, 'generated', f)), { recursive: true });
        writeFileSync(join(root, 'generated', f), Buffer.from(content, 'base64'));
      }
    };
    // How long a whole run takes here, to spread the signals over it.
    const t0 = Date.now();
    await new Promise((r) => spawn(process.execPath, [CLI, '--root', root], { stdio: 'ignore' }).on('close', r));
    const duration = Date.now() - t0;
    restore();
    const outcomes: string[] = [];
    for (const delay of [0.15, 0.5, 0.75, 0.85, 0.95, 1.1].map((f) => Math.round(f * duration))) {
      const child = spawn(process.execPath, [CLI, '--root', root], { stdio: 'ignore' });
      const exited = new Promise<string>((r) => child.on('close', (c, sig) => r(sig ?? String(c))));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGINT');
      const code = await exited;
      const s = snapshot(join(root, 'generated'));
      expect(Object.keys(s).filter((f) => f.startsWith('.'))).toEqual([]);
      const state = isOld(s) ? 'old' : isNew(s) ? 'new' : 'mixed';
      outcomes.push(`${delay}ms:${code}:${state}`);
      expect(state, outcomes.join(' ')).not.toBe('mixed');
      if (state === 'new') restore(); // start over from the previous output
    }
  });
});
