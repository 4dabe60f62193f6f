// make -j on a generated Makefile, running the recipes for real with a
// recording stand-in for docker whose builds take a while: parents are built
// before children, and independent images overlap.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FAKE_DOCKER, PROJECT_ROOT, runMake } from '../support/tree.js';

const dir = mkdtempSync(join(tmpdir(), 'mkimages-parallel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('make -j2 build-all-images builds parents first and independent images in parallel', () => {
  cpSync(join(PROJECT_ROOT, 'test/fixtures/kubernetes'), dir, { recursive: true });
  const log = join(dir, 'docker.log');
  writeFileSync(log, '');
  const r = runMake(dir, ['-f', 'generated/images.mk', '-j2', 'build-all-images', `DOCKER=${FAKE_DOCKER}`, 'HOST_ARCH=amd64', 'REGISTRY=127.0.0.1:5000/e2e'], {
    FAKE_DOCKER_LOG: log,
    FAKE_DOCKER_BUILD_SLEEP: '0.4',
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const events = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith("'build'") || l.startsWith('#end'))
    .map((l) => {
      const image = /(?:#end |'-t' ')mkimages\.local\/([^:]+):/.exec(l)![1];
      return { kind: l.startsWith('#end') ? 'end' : 'start', image };
    });
  const at = (kind: string, image: string) => events.findIndex((e) => e.kind === kind && e.image === image);
  // Every host build ran once.
  expect(events.filter((e) => e.kind === 'start').map((e) => e.image).sort()).toEqual(['agnhost', 'busybox', 'e2e/mounttest', 'httpd', 'httpd-new', 'kitten', 'windows-servercore-cache']);
  // Parents end before children start.
  expect(at('end', 'busybox')).toBeLessThan(at('start', 'agnhost'));
  expect(at('end', 'agnhost')).toBeLessThan(at('start', 'kitten'));
  // Two builds were running at once at some point.
  let running = 0;
  let most = 0;
  for (const e of events) {
    running += e.kind === 'start' ? 1 : -1;
    most = Math.max(most, running);
  }
  expect(most).toBe(2);
});
