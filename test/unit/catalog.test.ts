// The shipped images/ catalog and generated/images.json: current, valid
// against its schema, and planning every image.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { FAKE_DOCKER, PROJECT_ROOT, runCli, runMake } from '../support/tree.js';

const schema = JSON.parse(readFileSync(join(PROJECT_ROOT, 'schema/images.catalog.schema.json'), 'utf8')) as Record<string, unknown>;
delete schema.$schema;
const validate = new Ajv({ allErrors: true }).compile(schema);

interface Catalog {
  images: Array<{ name: string; publishedName: string; tag: string; platforms: string[]; mirror: string | null; promote: boolean; groups: string[] }>;
}

describe('the shipped catalog', () => {
  const catalog = JSON.parse(readFileSync(join(PROJECT_ROOT, 'generated/images.json'), 'utf8')) as Catalog;

  it('is current: npm run generate -- --check finds nothing stale', () => {
    const r = runCli(PROJECT_ROOT, '--check');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('images.json and every golden images.json validate against schema/images.catalog.schema.json', () => {
    for (const file of ['generated/images.json', ...['kubernetes', 'gvisor', 'metadata', 'lifecycle'].map((c) => `test/fixtures/${c}/generated/images.json`)]) {
      const ok = validate(JSON.parse(readFileSync(join(PROJECT_ROOT, file), 'utf8')));
      expect(validate.errors ?? [], file).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it('holds the seed images: two httpd and two nginx versions, a promote: false mirror, a conformance group', () => {
    const refs = catalog.images.map((i) => `${i.publishedName}:${i.tag}`);
    expect(refs.length).toBeGreaterThanOrEqual(12);
    for (const name of ['busybox', 'pause', 'windows-servercore-cache']) expect(catalog.images.some((i) => i.publishedName === name)).toBe(true);
    expect(catalog.images.filter((i) => i.publishedName === 'httpd' && !i.mirror)).toHaveLength(2);
    expect(catalog.images.filter((i) => i.publishedName === 'nginx' && !i.mirror)).toHaveLength(2);
    expect(catalog.images.some((i) => i.mirror && !i.promote)).toBe(true);
    expect(catalog.images.some((i) => i.groups.includes('conformance'))).toBe(true);
    expect(catalog.images.find((i) => i.name === 'busybox')!.platforms).toEqual(expect.arrayContaining(['windows/amd64/ltsc2019', 'windows/amd64/ltsc2022']));
  });

  it('plans every image with make -n push-all-images and a docker that has buildx', () => {
    const r = runMake(PROJECT_ROOT, ['-n', 'push-all-images', `DOCKER=${FAKE_DOCKER}`, 'REGISTRY=127.0.0.1:5000/e2e'], { FAKE_DOCKER_BUILDX: '1', FAKE_DOCKER_LOG: '/dev/null' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const img of catalog.images) {
      if (img.mirror) expect(r.stdout, img.name).toContain(`mkimages.sh copy imagetools '${FAKE_DOCKER}' ${img.mirror} 127.0.0.1:5000/e2e/${img.publishedName}:${img.tag}`);
      else expect(r.stdout, img.name).toContain(`publishing the list 127.0.0.1:5000/e2e/${img.publishedName}:${img.tag} of`);
    }
    expect(r.stdout).toMatch(/buildx build .*--platform windows\/amd64 -f images\/busybox\/Dockerfile_windows/);
  });

  it('make -n push-busybox prints one command a line: the docker client appears at most once in each', () => {
    const r = runMake(PROJECT_ROOT, ['-n', 'push-busybox', `DOCKER=${FAKE_DOCKER}`, 'REGISTRY=127.0.0.1:5000/e2e'], { FAKE_DOCKER_BUILDX: '1', FAKE_DOCKER_LOG: '/dev/null' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    // Six platforms built and pushed, the helper first, two descriptors, the list, :H.
    expect(lines.filter((l) => l.includes(' buildx build '))).toHaveLength(7);
    for (const l of lines) {
      expect(l.split(FAKE_DOCKER).length - 1, l).toBeLessThanOrEqual(1);
      expect(l, l).not.toMatch(/\$\(|`|&&|;/);
    }
  });
});

describe('the JSON Schemas', () => {
  it('are valid schemas (the generator skips this check at run time)', () => {
    const strict = new Ajv({ allErrors: true, strict: true, strictTypes: false });
    for (const file of ['image.schema.json', 'mkimages.schema.json', 'images.catalog.schema.json']) {
      const s = JSON.parse(readFileSync(join(PROJECT_ROOT, 'schema', file), 'utf8')) as Record<string, unknown>;
      delete s.$schema;
      expect(strict.validateSchema(s), `${file}: ${JSON.stringify(strict.errors)}`).toBe(true);
      expect(() => strict.compile(s)).not.toThrow();
    }
  });
});
