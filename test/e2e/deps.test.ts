// In-tree dependencies against a real engine and registry: a chain through
// BASEIMAGE and FROM $REGISTRY, dependsOn, a diamond, make -j2, hash
// chaining that rebuilds exactly what changed, no-op second runs, groups.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTree, removeTree, runCli } from '../support/tree.js';
import { describeE2E, dockerCmd, removeImagesWithPrefix, startRegistry, uniqueName, type Registry } from './support/e2e.js';
import { makeIn } from './support/make.js';

interface Catalog {
  images: Array<{ name: string; hash: string; parents: string[] }>;
}

describeE2E('in-tree dependencies, make -j2 and memoization', () => {
  const ns = uniqueName('deps');
  const localPrefix = uniqueName('depslocal');
  let registry: Registry;
  let root = '';
  const make = (...args: string[]) => makeIn({ root, registry: `${registry.host}/${ns}`, localPrefix }, ...args);
  const hashes = () => Object.fromEntries((JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as Catalog).images.map((i) => [i.name, i.hash]));
  const builtImages = (builds: string[]) => builds.map((b) => new RegExp(`'-t' '${localPrefix}/([^:]+):`).exec(b)![1]).sort();
  const order = (builds: string[]) => builds.map((b) => new RegExp(`'-t' '${localPrefix}/([^:]+):`).exec(b)![1]);

  beforeAll(async () => {
    registry = await startRegistry();
    root = makeTree(
      {
        // A three-level chain: BASEIMAGE names the parent's per-platform tag, then FROM $REGISTRY.
        'images/base/Dockerfile': 'FROM scratch\nCOPY base.txt /\n',
        'images/base/base.txt': 'base\n',
        'images/base/VERSION': '1.0\n',
        'images/mid/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY mid.txt /\n',
        'images/mid/BASEIMAGE': 'linux/amd64=REGISTRY/base:1.0-linux-amd64\n',
        'images/mid/VERSION': '1.0\n',
        'images/mid/mid.txt': 'mid\n',
        'images/top/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/mid:1.0\nCOPY top.txt /\n',
        'images/top/VERSION': '1.0\n',
        'images/top/top.txt': 'top\n',
        'images/top/image.yaml': 'platforms: [linux/amd64]\ngroups: [conformance]\n',
        // dependsOn, and a diamond on base.
        'images/joined/Dockerfile': 'FROM scratch\nCOPY j.txt /\n',
        'images/joined/j.txt': 'j\n',
        'images/joined/image.yaml': 'platforms: [linux/amd64]\ndependsOn: [mid]\n',
        'images/left/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/base:1.0-linux-amd64\nCOPY l.txt /\n',
        'images/left/l.txt': 'l\n',
        'images/left/VERSION': '1.0\n',
        'images/left/image.yaml': 'platforms: [linux/amd64]\n',
        'images/right/Dockerfile': 'ARG LOCAL_PREFIX\nFROM $LOCAL_PREFIX/base:latest\nCOPY r.txt /\n',
        'images/right/r.txt': 'r\n',
        'images/right/VERSION': '1.0\n',
        'images/right/image.yaml': 'platforms: [linux/amd64]\ndependsOn: [base]\n',
        'images/bottom/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/left:1.0 AS l\nFROM $REGISTRY/right:1.0\nCOPY --from=l /l.txt /\n',
        'images/bottom/VERSION': '1.0\n',
        'images/bottom/image.yaml': 'platforms: [linux/amd64]\n',
        'images/solo/Dockerfile': 'FROM scratch\nCOPY s.txt /\n',
        'images/solo/s.txt': 's\n',
        'images/solo/image.yaml': 'platforms: [linux/amd64]\ngroups: [conformance]\n',
        'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64]\n',
      },
      'mkimages-e2e-deps-',
    );
    expect(runCli(root).status).toBe(0);
  });

  afterAll(async () => {
    await removeImagesWithPrefix(localPrefix);
    await removeImagesWithPrefix(ns);
    await registry?.stop();
    if (root) removeTree(root);
  });

  it('infers every edge and draws them in the Mermaid graph', () => {
    const catalog = JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as Catalog;
    expect(Object.fromEntries(catalog.images.map((i) => [i.name, i.parents]))).toEqual({
      base: [],
      bottom: ['left', 'right'],
      joined: ['mid'],
      left: ['base'],
      mid: ['base'],
      right: ['base'],
      solo: [],
      top: ['mid'],
    });
    const graph = readFileSync(join(root, 'generated/images.md'), 'utf8');
    expect(graph).toContain('```mermaid');
    for (const edge of ['img_base --> img_mid', 'img_mid --> img_top', 'img_mid --> img_joined', 'img_left --> img_bottom', 'img_right --> img_bottom']) expect(graph).toContain(edge);
  });

  it('make -j2 build-all-images builds everything in dependency order', async () => {
    const r = await make('-j2', 'build-all-images');
    expect(r.code, r.stderr).toBe(0);
    expect(builtImages(r.builds)).toEqual(['base', 'bottom', 'joined', 'left', 'mid', 'right', 'solo', 'top']);
    const o = order(r.builds);
    const before = (a: string, b: string) => expect(o.indexOf(a), `${a} before ${b}`).toBeLessThan(o.indexOf(b));
    before('base', 'mid');
    before('mid', 'top');
    before('mid', 'joined');
    before('left', 'bottom');
    before('right', 'bottom');
    const files = await dockerCmd(['create', `${localPrefix}/bottom:latest`, 'x']);
    expect(files.code).toBe(0);
    await dockerCmd(['rm', files.stdout.trim()]);
  });

  it('a second build-all-images makes one docker call and no build', async () => {
    const r = await make('build-all-images');
    expect(r.code).toBe(0);
    expect(r.builds).toEqual([]);
    expect(r.calls).toHaveLength(1);
  });

  it('a change mid-graph changes the hash of it and its descendants only, and rebuilds exactly those', async () => {
    const before = hashes();
    writeFileSync(join(root, 'images/mid/mid.txt'), 'mid, changed\n');
    expect(runCli(root).status).toBe(0);
    const after = hashes();
    const changed = Object.keys(after).filter((n) => after[n] !== before[n]).sort();
    expect(changed).toEqual(['joined', 'mid', 'top']);
    const r = await make('-j2', 'build-all-images');
    expect(r.code, r.stderr).toBe(0);
    expect(builtImages(r.builds)).toEqual(['joined', 'mid', 'top']);
  });

  it('push-all-images twice: the second makes no push and no build', async () => {
    const first = await make('-j2', 'push-all-images');
    expect(first.code, first.stderr).toBe(0);
    expect(first.pushes.length).toBeGreaterThan(0);
    const second = await make('push-all-images');
    expect(second.code, second.stderr).toBe(0);
    expect(second.builds).toEqual([]);
    expect(second.pushes).toEqual([]);
  });

  it('a two-arch child builds each platform FROM the parent\'s per-platform tag, with no registry at all', async () => {
    const chain = makeTree(
      {
        'images/base2/Dockerfile': 'FROM scratch\nCOPY b.txt /\n',
        'images/base2/b.txt': 'b\n',
        'images/base2/VERSION': '1.0\n',
        'images/base2/image.yaml': 'platforms: [linux/amd64, linux/arm64]\n',
        'images/child2/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY c.txt /\n',
        'images/child2/c.txt': 'c\n',
        'images/child2/BASEIMAGE': 'linux/amd64=REGISTRY/base2:1.0-linux-amd64\nlinux/arm64=REGISTRY/base2:1.0-linux-arm64\n',
      },
      'mkimages-e2e-chain-',
    );
    try {
      expect(runCli(chain).status).toBe(0);
      // Nothing listens on port 9: any pull would fail.
      const r = await makeIn({ root: chain, registry: '127.0.0.1:9/none', localPrefix }, 'build-child2', 'PLATFORMS=linux/amd64,linux/arm64');
      expect(r.code, r.stderr).toBe(0);
      expect(builtImages(r.builds)).toEqual(['base2', 'base2', 'child2', 'child2']);
      const arch = await dockerCmd(['image', 'inspect', '--format', '{{.Architecture}}', `${localPrefix}/child2:${(JSON.parse(readFileSync(join(chain, 'generated/images.json'), 'utf8')) as Catalog).images.find((i) => i.name === 'child2')!.hash}-linux-arm64`]);
      expect(arch.stdout.trim()).toBe('arm64');
    } finally {
      removeTree(chain);
    }
  });

  it('make help lists the conformance group, and building it builds its parents', async () => {
    const help = await make('-s', 'help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Groups \(\d+\): build-group-G, push-group-G, load-group-G for G in:$/m);
    expect(help.stdout).toMatch(/^ {2}.*\bconformance\b/m);
    await removeImagesWithPrefix(localPrefix);
    const r = await make('build-group-conformance');
    expect(r.code, r.stderr).toBe(0);
    expect(builtImages(r.builds)).toEqual(['base', 'mid', 'solo', 'top']);
  });
});
