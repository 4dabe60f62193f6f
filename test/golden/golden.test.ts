// Golden fixtures: test/fixtures/<case>/images is the input, generated/ beside
// it the expected output. Update them explicitly with `npx vitest -u`.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../generator/diagnostics.js';
import { generate } from '../../generator/generate.js';
import { PROJECT_ROOT } from '../support/tree.js';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures');
const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe.each(cases)('fixture %s', (name) => {
  const root = join(FIXTURES, name);
  // Kubernetes keeps its tree at test/images (--images-dir test/images).
  const imagesDir = existsSync(join(root, 'images')) ? 'images' : 'test/images';
  const result = generate(root, { imagesDir });

  it('generates without errors', () => {
    expect(result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
  });

  for (const file of ['images.mk', 'images.rules.mk', 'mkimages.sh', 'images.json', 'images.md']) {
    it(`matches generated/${file}`, async () => {
      const content = result.files.get(`generated/${file}`);
      expect(content).toBeDefined();
      await expect(content).toMatchFileSnapshot(join(root, 'generated', file));
    });
  }
});

describe('precompiled templates', () => {
  it('render exactly what the templates compiled at run time render', async () => {
    const { viewOf } = await import('../../generator/render/makefile.js');
    const { loadTemplates: templates } = await import('../../generator/templates.js');
    const result = generate(join(FIXTURES, 'kubernetes'));
    const view = viewOf(result.model!);
    const pre = templates(true);
    const now = templates(false);
    expect(pre.main(view)).toBe(now.main(view));
    expect(pre.rules(view)).toBe(now.rules(view));
  });
});
