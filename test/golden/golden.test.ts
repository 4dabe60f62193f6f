// Golden fixtures: test/fixtures/<case>/images is the input, generated/ beside
// it the expected output, every file of it (generated/rules/ too). Update them
// explicitly with `npx vitest -u`.

import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../generator/diagnostics.js';
import { generate } from '../../generator/generate.js';
import { renderMakefile, rulesFilesOf } from '../../generator/render/makefile.js';
import { loadTemplates } from '../../generator/templates.js';
import { outputsOf, PROJECT_ROOT } from '../support/tree.js';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures');
const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** Every file under dir, by path relative to it. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe.each(cases)('fixture %s', (name) => {
  const root = join(FIXTURES, name);
  // Kubernetes keeps its tree at test/images (--images-dir test/images).
  const imagesDir = existsSync(join(root, 'images')) ? 'images' : 'test/images';
  const result = generate(root, { imagesDir });
  const outputs = outputsOf(result);

  it('generates without errors', () => {
    expect(result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
  });

  it('writes every output file the fixture has a golden of, and no other', () => {
    expect([...outputs.keys()].filter((f) => f.startsWith('generated/rules/'))).toEqual(rulesFilesOf(result.model!.images).map((f) => `generated/rules/${f.key}.mk`));
    // (A new output file gets its golden from `vitest -u`; a golden no output
    // matches any more must be deleted by hand.)
    const goldens = filesUnder(join(root, 'generated')).map((f) => `generated/${f}`);
    expect(goldens.filter((f) => !outputs.has(f))).toEqual([]);
  });

  for (const [file, content] of [...outputs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    it(`matches ${file}`, async () => {
      await expect(content).toMatchFileSnapshot(join(root, file));
    });
  }
});

describe('precompiled templates', () => {
  it('render exactly what the templates compiled at run time render', () => {
    const result = generate(join(FIXTURES, 'kubernetes'));
    const pre = renderMakefile(result.model!, loadTemplates(true));
    const now = renderMakefile(result.model!, loadTemplates(false));
    expect(pre.main).toBe(now.main);
    expect(pre.rules.names.map(pre.rules.content)).toEqual(now.rules.names.map(now.rules.content));
  });
});
