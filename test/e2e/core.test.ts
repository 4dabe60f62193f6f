// The generator and the generated Makefile against a real engine and a real
// registry: build, no-op rebuild, stale-folder refusal, push of a two-arch
// manifest list with the content tag, load by pull, load by build.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTree, removeTree, runCli } from '../support/tree.js';
import { describeE2E, dockerCmd, MEDIA_TYPES, registryManifest, registryTags, removeImagesWithPrefix, startRegistry, uniqueName, useE2E, type Registry } from './support/e2e.js';
import { makeIn } from './support/make.js';

interface Catalog {
  images: Array<{ name: string; hash: string; tag: string; publishedName: string }>;
}

describeE2E('generated Makefile against a real engine and registry', () => {
  const e2e = useE2E();
  const ns = uniqueName('core');
  const localPrefix = uniqueName('local');
  let registry: Registry;
  let REGISTRY = '';
  let root = '';

  const make = (...args: string[]) => makeIn({ root, registry: REGISTRY, localPrefix }, ...args);
  const catalog = (): Catalog => JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as Catalog;
  const image = (name: string) => catalog().images.find((i) => i.name === name)!;
  const generate = () => {
    const r = runCli(root);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  };

  beforeAll(async () => {
    registry = await startRegistry();
    REGISTRY = `${registry.host}/${ns}`;
    root = makeTree({
      'images/app/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY hello.txt /hello.txt\n',
      'images/app/BASEIMAGE': 'linux/amd64=scratch\nlinux/arm64=scratch\n',
      'images/app/VERSION': '1.0\n',
      'images/app/hello.txt': 'hello\n',
      'images/web/Dockerfile': 'FROM scratch\nCOPY index.html /srv/index.html\n',
      'images/web/VERSION': '1.0\n',
      'images/web/index.html': 'old\n',
      'images/web-new/Dockerfile': 'FROM scratch\nCOPY index.html /srv/index.html\n',
      'images/web-new/VERSION': '2.0\n',
      'images/web-new/ALIAS': 'web\n',
      'images/web-new/index.html': 'new\n',
      'images/tools/lister/Dockerfile': 'FROM scratch\nCOPY . /lister/\n',
      'images/tools/lister/.dockerignore': '*.md\n',
      'images/tools/lister/list.txt': 'a\nb\n',
      'images/win/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY hello.txt /hello.txt\n',
      'images/win/BASEIMAGE': 'linux/amd64=scratch\nwindows/amd64/ltsc2022=mcr.microsoft.com/windows/nanoserver:ltsc2022\n',
      'images/win/VERSION': '3.0\n',
      'images/win/hello.txt': 'hello\n',
      'images/shell/Dockerfile': `FROM ${e2e.baseImage}\nRUN echo built > /built.txt\n`,
      'images/shell/VERSION': '0.1\n',
    }, 'mkimages-e2e-core-');
    generate();
  });

  afterAll(async () => {
    await removeImagesWithPrefix(localPrefix);
    await removeImagesWithPrefix(ns);
    await registry?.stop();
    if (root) removeTree(root);
  });

  it('generates, and --check then finds nothing stale', () => {
    expect(runCli(root, '--check').status).toBe(0);
  });

  it('lists REGISTRY/<name>:<tag>, with the content hash where there is no VERSION', async () => {
    const r = await make('-s', 'list-all-images');
    expect(r.stdout.trim().split('\n')).toEqual([
      `${REGISTRY}/app:1.0`,
      `${REGISTRY}/shell:0.1`,
      `${REGISTRY}/tools/lister:${image('tools/lister').hash}`,
      `${REGISTRY}/web:1.0`,
      `${REGISTRY}/web:2.0`,
      `${REGISTRY}/win:3.0`,
    ]);
    expect(image('tools/lister').hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('builds, then finds nothing to do the second time', async () => {
    const first = await make('build-app');
    expect(first.code).toBe(0);
    expect(first.builds.length).toBe(1);
    const h = image('app').hash;
    const inspect = await dockerCmd(['image', 'inspect', '--format', '{{.Architecture}} {{index .Config.Labels "org.opencontainers.image.version"}}', `${localPrefix}/app:latest`, `${localPrefix}/app:${h}`]);
    expect(inspect.stdout.trim().split('\n')).toEqual(['amd64 1.0', 'amd64 1.0']);
    const second = await make('build-app');
    expect(second.code).toBe(0);
    expect(second.builds).toEqual([]);
    expect(second.calls.length).toBeLessThanOrEqual(1);
    expect(second.stdout).toContain('up to date');
  });

  it('runs RUN steps on a base image of the engine', async () => {
    const r = await make('build-shell');
    expect(r.code, r.stderr).toBe(0);
    const out = await dockerCmd(['run', '--rm', '--network=none', `${localPrefix}/shell:latest`, 'cat', '/built.txt']);
    expect(out.stdout.trim()).toBe('built');
  });

  it('refuses a folder changed since generation, naming the image and npm run generate', async () => {
    const file = join(root, 'images/app/hello.txt');
    writeFileSync(file, 'changed\n');
    try {
      for (const target of ['build-app', 'push-app', 'load-app']) {
        const r = await make(target);
        expect(r.code, target).not.toBe(0);
        expect(r.stderr).toContain('images/app changed since generated/images.mk was written');
        expect(r.stderr).toContain("run 'npm run generate'");
        expect(r.builds).toEqual([]);
      }
      writeFileSync(join(root, 'images/app/new-file'), '');
      expect((await make('build-app')).code).not.toBe(0);
      rmSync(join(root, 'images/app/new-file'));
    } finally {
      writeFileSync(file, 'hello\n');
    }
    expect((await make('build-app')).code).toBe(0);
  });

  it('keeps the hash when an ignored file is added, after regenerating', async () => {
    const before = image('tools/lister').hash;
    writeFileSync(join(root, 'images/tools/lister/NOTES.md'), 'ignored\n');
    generate();
    expect(image('tools/lister').hash).toBe(before);
    writeFileSync(join(root, 'images/tools/lister/list.txt'), 'a\nb\nc\n');
    generate();
    expect(image('tools/lister').hash).not.toBe(before);
  });

  it('pushes every platform, the manifest list :TAG and the content tag :H', async () => {
    const r = await make('push-app');
    expect(r.code, r.stderr).toBe(0);
    const h = image('app').hash;
    expect((await registryTags(registry.host, `${ns}/app`)).sort()).toEqual(['1.0', '1.0-linux-amd64', '1.0-linux-arm64', h].sort());
    for (const ref of ['1.0', h]) {
      const list = await registryManifest(registry.host, `${ns}/app`, ref);
      expect([MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociIndex]).toContain(list.mediaType);
      // Each platform, and its provenance attestation manifest (unknown/unknown).
      expect(list.body.manifests?.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).filter((p) => p !== 'unknown/unknown').sort()).toEqual(['linux/amd64', 'linux/arm64']);
    }
    const again = await make('push-app');
    expect(again.code).toBe(0);
    expect(again.calls.filter((c) => /^'(push|build|manifest' 'push)'/.test(c))).toEqual([]);
  });

  it('without buildx or a remote engine, skips Windows with a notice and publishes Linux alone', async () => {
    const r = await make('push-win', 'BUILDER=docker');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('win (windows-amd64-ltsc2022): skipped: a Windows image needs buildx or REMOTE_DOCKER_URL_ltsc2022; left out of the manifest list');
    // The content tag says "all of this content is published": not with Windows missing.
    expect(r.stdout).toContain(`not pushing :${image('win').hash} until windows-amd64-ltsc2022 is published too`);
    expect((await registryTags(registry.host, `${ns}/win`)).sort()).toEqual(['3.0', '3.0-linux-amd64']);
    const list = await registryManifest(registry.host, `${ns}/win`, '3.0');
    expect(list.body.manifests?.map((m) => `${m.platform?.os}/${m.platform?.architecture}`)).toEqual(['linux/amd64']);
  });

  it('loads by pulling when the local images are gone, without building', async () => {
    await removeImagesWithPrefix(localPrefix);
    await removeImagesWithPrefix(ns);
    const r = await make('load-app');
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls.some((c) => c.startsWith("'pull'"))).toBe(true);
    expect(r.builds).toEqual([]);
    const inspect = await dockerCmd(['image', 'inspect', '--format', '{{index .Config.Labels "org.opencontainers.image.version"}}', `${localPrefix}/app:latest`]);
    expect(inspect.stdout.trim()).toBe('1.0');
  });

  it('loads by building when the registry does not have it', async () => {
    const r = await make('load-web-new');
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds.length).toBe(1);
    const out = await dockerCmd(['image', 'inspect', '--format', '{{.Id}}', `${localPrefix}/web-new:latest`]);
    expect(out.code).toBe(0);
  });
});
