// The real Kubernetes test/images tree (test/fixtures/real-kubernetes), kept
// in place at test/images (--images-dir), planned with make -n and a stand-in.

import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_DOCKER, PROJECT_ROOT, runCli, runMake } from '../support/tree.js';

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mkimages-k8s-'));
  cpSync(join(PROJECT_ROOT, 'test/fixtures/real-kubernetes/test'), join(root, 'test'), { recursive: true });
  writeFileSync(join(root, 'Makefile'), 'include generated/images.mk\n');
  const r = runCli(root, '--images-dir', 'test/images');
  expect(r.status, r.stderr).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const plan = (args: string[], env: Record<string, string> = {}) =>
  runMake(root, ['-n', `DOCKER=${FAKE_DOCKER}`, 'REGISTRY=127.0.0.1:5000/k8s', ...args], { FAKE_DOCKER_BUILDX: '1', ...env });

describe('the real Kubernetes tree at test/images', () => {
  it('push-windows-servercore-cache gives every --os-version a full 10.0.x.y, on the buildx path too', () => {
    const r = plan(['push-windows-servercore-cache']);
    expect(r.status, r.stderr).toBe(0);
    const flags = [...r.stdout.matchAll(/--os-version(?: (\S*))?/g)].map((m) => m[1] ?? '');
    expect(flags.length).toBeGreaterThanOrEqual(2);
    for (const v of flags) expect(v).toMatch(/^10\.0\.\d+\.\d+$/);
    expect(r.stdout).toContain('--os-version 10.0.17763.');
    expect(r.stdout).toContain('--os-version 10.0.20348.');
  });

  it('push-all-images and OS=linux ARCH=amd64 push-all-images create no list without entries', () => {
    for (const args of [['push-all-images'], ['OS=linux', 'ARCH=amd64', 'push-all-images']]) {
      const r = plan(args);
      expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(0);
      const lists = r.stdout.split('\n').filter((l) => / manifest create | imagetools create -t /.test(l));
      expect(lists.length).toBeGreaterThan(0);
      // Every list has at least one entry: a per-platform tag, or a descriptor
      // of one, in a file a line before writes.
      for (const l of lists) {
        const descriptors = [...l.matchAll(/ -f (\S+\.json)/g)].map((m) => m[1]);
        for (const d of descriptors) expect(r.stdout, d).toMatch(new RegExp(`^sh \\S*mkimages\\.sh descriptor .* >${d.replace(/[.]/g, '\\.')}$`, 'm'));
        const tags = l.match(/ 127\.0\.0\.1:5000\/k8s\/\S+:\S+-(?:linux|windows)-\S+/g) ?? [];
        expect(descriptors.length + tags.length, l).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('OS=linux ARCH=amd64 publishes amd64 alone and never pushes :H of a partly published image', () => {
    const r = plan(['OS=linux', 'ARCH=amd64', 'push-agnhost']);
    expect(r.status, r.stderr).toBe(0);
    const builds = r.stdout.split('\n').filter((l) => l.includes('buildx build'));
    expect(builds.every((l) => l.includes('--platform linux/amd64'))).toBe(true);
    expect(r.stdout).not.toMatch(/mkimages\.sh copy .*agnhost/);
  });

  it('load-agnhost on Linux builds no windows-servercore-cache (a parent only Windows platforms need)', () => {
    const r = plan(['load-agnhost'], { REGISTRY_TOOL: 'imagetools' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('windows-servercore-cache');
    // agnhost has a Kubernetes bin step: built from a staged copy of test/images/agnhost.
    expect(r.stdout).toMatch(/^cp -a test\/images\/agnhost\/\. \S+\/build\/agnhost\/linux-amd64\/$/m);
  });

  it('the freshness check reads test/images', () => {
    writeFileSync(join(root, 'test/images/agnhost/new-file'), 'x\n');
    try {
      const r = plan(['build-agnhost']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('test/images/agnhost changed since generated/images.mk was written');
    } finally {
      rmSync(join(root, 'test/images/agnhost/new-file'));
    }
    expect(plan(['build-agnhost']).status).toBe(0);
  });
});
