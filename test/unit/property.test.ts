// Property-based: nothing from the tree can execute. Random build-arg and
// label values, context file names, folder names, versions, aliases, base
// image references and groups (full of `$`, `$(shell …)`, backticks, quotes,
// `#`, `%`, `;`, `\`, line breaks and non-ASCII text) either make generate
// fail with a diagnostic, or give a Makefile that `make -n` plans without
// running anything, and whose real run hands each value to docker byte for
// byte (test/support/fake-docker logs every argument). A canary file that
// the hostile values try to create must never appear.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../../generator/generate.js';
import { makeShellWord, shellQuote } from '../../generator/render/escape.js';
import { isInterpretedFile } from '../../generator/scan/tree.js';
import { writeFiles } from '../../generator/write/output.js';
import { FAKE_DOCKER, findCanaries, makeTree, removeTree, runMake, type Spec } from '../support/tree.js';

const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));

// Canaries: an absolute one, and the relative name CANARY (made wherever a
// command would run: the root, or an image folder after `cd`).
const canaryDir = mkdtempSync(join(tmpdir(), 'mkimages-canary-'));
roots.push(canaryDir);
const CANARY = join(canaryDir, 'CANARY');

/** Canaries found (and removed, so that each run, and each shrinking step, is judged alone). */
function canariesIn(root: string): string[] {
  const found = findCanaries(CANARY, root);
  for (const f of found) rmSync(f, { force: true });
  return found;
}

/** Pieces of hostile text; random strings are joined from them. */
const HOSTILE = [
  `$(shell touch ${CANARY})`,
  '$(shell touch CANARY)',
  `\`touch ${CANARY}\``,
  `$(touch ${CANARY})`,
  `$$(touch ${CANARY})`,
  `'; touch ${CANARY}; '`,
  `"; touch ${CANARY}; "`,
  `\\'$(touch ${CANARY})`,
  '${HOME}',
  '$HOME',
  '$$',
  '$',
  '$(',
  ')',
  '`',
  "'",
  '"',
  '\\',
  '\\\\',
  '#',
  '%',
  ';',
  '&',
  '|',
  '<',
  '>',
  '*',
  '?',
  '[a]',
  '{,}',
  '~',
  '!',
  ',',
  ':',
  '=',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  'é',
  'ü',
  'ß',
  '日本',
  'İı',
  '🐳',
  'a',
  'Z',
  '0',
  '-',
  '.',
  '_',
  '/',
];

const hostile = (maxLength = 8) => fc.string({ unit: fc.constantFrom(...HOSTILE), minLength: 1, maxLength });

/** Single-quoted the way fake-docker logs each argument. */
const logged = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

const make = (root: string, args: string[], env: Record<string, string> = {}) => runMake(root, [`DOCKER=${FAKE_DOCKER}`, 'REGISTRY=127.0.0.1:5000/prop', ...args], env);

/** make's own complaints (a recipe that fails, a bad line): never expected. */
function expectCleanMake(r: ReturnType<typeof runMake>, what: string): void {
  expect(r.stderr, what).not.toMatch(/\*\*\*|warning:/);
  expect(r.status, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);
}

function newRoot(files: Spec): string {
  const root = makeTree(files, 'mkimages-prop-');
  roots.push(root);
  return root;
}

describe('makeShellWord', () => {
  it('carries any single-line text through make and sh unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mkimages-word-'));
    roots.push(dir);
    fc.assert(
      fc.property(fc.oneof(hostile(12), fc.string({ unit: 'binary', maxLength: 20 })), (raw) => {
        canariesIn(dir); // left by an earlier failing run
        const value = raw.replace(/[\r\n\0]/g, '');
        writeFileSync(join(dir, 'Makefile'), `MK_HASH := \\#\nX := ${makeShellWord(value)}\nall:\n\t@printf '%s' $(X) > out\n`);
        const r = runMake(dir, ['-s', 'all']);
        expect(r.status, r.stderr).toBe(0);
        expect(readFileSync(join(dir, 'out'), 'utf8')).toBe(value);
        expect(canariesIn(dir)).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });

  it('shellQuote leaves nothing for sh to expand', () => {
    expect(shellQuote(`it's $(x) \`y\``)).toBe(`'it'\\''s $(x) \`y\`'`);
  });
});

describe('build args, labels and context file names', () => {
  const fileName = hostile(6)
    .map((s) => s.replace(/\//g, '_'))
    .filter((s) => s !== '.' && s !== '..' && s !== 'CANARY' && !isInterpretedFile(s) && Buffer.byteLength(s) <= 255);

  it('never execute: generate fails with a diagnostic, or make plans and runs them literally', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,6}$/).filter((k) => !['BASEIMAGE', 'REGISTRY', 'OS_VERSION', 'LOCAL_PREFIX'].includes(k)), hostile(), { minKeys: 1, maxKeys: 3 }),
        fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9.]{0,8}$/), hostile(), { maxKeys: 2 }),
        fc.uniqueArray(fileName, { minLength: 1, maxLength: 4 }),
        (buildArgs, labels, names) => {
          rmSync(CANARY, { force: true }); // left by an earlier failing run
          const files: Spec = {
            'images/p/Dockerfile': 'FROM scratch\nCOPY . /\n',
            'images/p/image.yaml': stringify({ buildArgs, labels }),
          };
          for (const n of names) files[`images/p/ctx/${n}`] = `${n}\n`;
          const root = newRoot(files);
          const result = generate(root);
          const values = [...Object.values(buildArgs), ...Object.values(labels)];
          const errors = result.diagnostics.filter((d) => d.severity === 'error');
          if (values.some((v) => /[\r\n]/.test(v))) {
            // A value on several lines cannot be one shell word: rejected, at its line.
            expect(errors.length).toBeGreaterThan(0);
            expect(errors.every((d) => d.file === 'images/p/image.yaml' && d.line !== undefined && /spans several lines/.test(d.message))).toBe(true);
            expect(result.files.size).toBe(0);
            return;
          }
          expect(result.diagnostics).toEqual([]);
          writeFiles(root, result);

          expectCleanMake(make(root, ['-n', 'build-all-images']), 'make -n build-all-images');
          expectCleanMake(make(root, ['-n', 'push-all-images']), 'make -n push-all-images');
          expect(canariesIn(root)).toEqual([]);

          // Really run the build with the recording docker.
          const log = join(root, 'docker.log');
          writeFileSync(log, '');
          expectCleanMake(make(root, ['build-all-images'], { FAKE_DOCKER_LOG: log }), 'make build-all-images');
          expect(canariesIn(root)).toEqual([]);
          const build = readFileSync(log, 'utf8')
            .split('\n')
            .find((l) => l.startsWith("'build' ") || l.startsWith("'buildx' 'build' "));
          expect(build).toBeDefined();
          for (const [k, v] of Object.entries(buildArgs)) expect(build).toContain(` '--build-arg' ${logged(`${k}=${v}`)} `);
          for (const [k, v] of Object.entries(labels)) expect(build).toContain(` '--label' ${logged(`${k}=${v}`)} `);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('title, description, licenses and url (labels of the builds, annotations of the list)', () => {
  it('never execute: generate fails with a diagnostic, or buildx gets each as --label and --annotation index: byte for byte', () => {
    fc.assert(
      fc.property(fc.record({ title: hostile(), description: hostile(), licenses: hostile(4), url: hostile(5).map((s) => `https://example.com/${s}`) }, { requiredKeys: [] }), (fields) => {
        rmSync(CANARY, { force: true }); // left by an earlier failing run
        const root = newRoot({
          'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64, linux/arm64]\n',
          'images/p/Dockerfile': 'FROM scratch\n',
          'images/p/image.yaml': stringify({ version: '1.0', ...fields }),
        });
        const result = generate(root);
        const errors = result.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length > 0) {
          // Rejected at its line (a line break, a control character, an empty value, a URL that is not one).
          expect(result.files.size).toBe(0);
          expect(errors.every((d) => d.file === 'images/p/image.yaml' && d.line !== undefined)).toBe(true);
          return;
        }
        writeFiles(root, result);
        const buildx = { FAKE_DOCKER_BUILDX: '1' };
        expectCleanMake(make(root, ['-n', 'push-all-images'], buildx), 'make -n push-all-images');
        expect(canariesIn(root)).toEqual([]);

        // A restricted push: the builds and the list, run with the recording docker.
        const log = join(root, 'docker.log');
        writeFileSync(log, '');
        expectCleanMake(make(root, ['push-all-images', 'PLATFORMS=linux/amd64'], { ...buildx, FAKE_DOCKER_LOG: log }), 'make push-all-images PLATFORMS=linux/amd64');
        expect(canariesIn(root)).toEqual([]);
        const calls = readFileSync(log, 'utf8').split('\n');
        const build = calls.find((l) => l.startsWith("'buildx' 'build' "));
        const list = calls.find((l) => l.startsWith("'buildx' 'imagetools' 'create' "));
        expect(build).toBeDefined();
        expect(list).toBeDefined();
        for (const [f, v] of Object.entries(fields)) {
          expect(build).toContain(` '--label' ${logged(`org.opencontainers.image.${f}=${v}`)} `);
          expect(list).toContain(` '--annotation' ${logged(`index:org.opencontainers.image.${f}=${v}`)} `);
        }
      }),
      { numRuns: 30 },
    );
  });
});

describe('names, versions, aliases, base image references and groups', () => {
  const validComponent = fc.stringMatching(/^[a-z0-9]{1,4}(?:[._-][a-z0-9]{1,3})?$/);
  const junk = hostile(5).filter((s) => !s.includes('/') && s !== '.' && s !== '..' && Buffer.byteLength(s) <= 200);
  // Mostly valid values (so that most runs reach make), sometimes hostile ones.
  const mostly = <T>(valid: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: bad, weight: 1 });
  const folder = mostly(validComponent, junk);
  const tag = mostly(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/), hostile(4));
  const ref = mostly(
    fc.oneof(
      fc.tuple(validComponent, fc.stringMatching(/^[a-z0-9_][a-z0-9_.-]{0,7}$/)).map(([n, t]) => `${n}:${t}`),
      fc.tuple(fc.stringMatching(/^[a-z0-9]{1,5}$/), validComponent).map(([h, n]) => `${h}.example:5000/${n}@sha256:${'a'.repeat(64)}`),
      validComponent.map((n) => `REGISTRY/${n}:1.0`),
    ),
    hostile(4),
  );
  const group = mostly(fc.oneof(validComponent, fc.tuple(validComponent, validComponent).map(([a, b]) => `${a}/${b}`)), hostile(3));

  it('are rejected with a diagnostic, or planned and listed literally', () => {
    fc.assert(
      fc.property(
        folder,
        fc.option(tag, { nil: undefined }),
        fc.option(mostly(validComponent, junk), { nil: undefined }),
        fc.option(ref, { nil: undefined }),
        fc.option(group, { nil: undefined }),
        (name, version, alias, base, grp) => {
          rmSync(CANARY, { force: true }); // left by an earlier failing run
          const dir = `images/${name}`;
          const files: Spec = {
            'images/good/Dockerfile': 'FROM scratch\n',
            'images/good/VERSION': '1.0\n',
            [`${dir}/Dockerfile`]: base !== undefined ? 'ARG BASEIMAGE\nFROM $BASEIMAGE\n' : 'FROM scratch\n',
          };
          if (version !== undefined) files[`${dir}/VERSION`] = `${version}\n`;
          if (alias !== undefined) files[`${dir}/ALIAS`] = `${alias}\n`;
          if (base !== undefined) files[`${dir}/BASEIMAGE`] = `linux/amd64=${base}\n`;
          if (grp !== undefined) files[`${dir}/image.yaml`] = stringify({ groups: [grp] });
          if (name === 'good' || name === 'CANARY') return;
          const root = newRoot(files);
          const result = generate(root);
          const errors = result.diagnostics.filter((d) => d.severity === 'error');
          if (errors.length > 0) {
            expect(result.files.size).toBe(0);
            for (const d of errors) expect(d.file.startsWith('images')).toBe(true);
            return;
          }
          writeFiles(root, result);
          expectCleanMake(make(root, ['-n', 'build-all-images']), 'make -n build-all-images');
          expectCleanMake(make(root, ['-n', 'push-all-images']), 'make -n push-all-images');
          const list = make(root, ['-s', 'list-all-images']);
          expectCleanMake(list, 'make list-all-images');
          expect(canariesIn(root)).toEqual([]);
          const catalog = JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as { images: Array<{ name: string; publishedName: string; tag: string }> };
          const img = catalog.images.find((i) => i.name === name)!;
          // VERSION and ALIAS hold one value on one line: blank lines and the
          // whitespace around the value are not part of it.
          const oneLine = (v: string) => v.split('\n').map((t) => t.replace(/\r$/, '').trim()).filter(Boolean)[0];
          expect(img.publishedName).toBe(alias !== undefined ? oneLine(alias) : name);
          if (version !== undefined) expect(img.tag).toBe(oneLine(version));
          expect(list.stdout.split('\n').filter(Boolean)).toContain(`127.0.0.1:5000/prop/${img.publishedName}:${img.tag}`);
          if (grp !== undefined) expectCleanMake(make(root, ['-n', `build-group-${grp}`]), `make -n build-group-${grp}`);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('the canary', () => {
  it('would be seen', () => {
    const root = newRoot({ 'x/CANARY': '' });
    expect(canariesIn(root)).toEqual([join(root, 'x/CANARY')]);
    expect(canariesIn(root)).toEqual([]);
  });
});
