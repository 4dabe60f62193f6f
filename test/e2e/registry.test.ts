// The registry lifecycle against three real registries (an upstream, the
// staging REGISTRY and a disconnected mirror): mirrors keep digests, versions
// are immutable unless FORCE=1, mirror-all-images copies by tag and writes
// the mapping file, and a bundle restores the images with no registry.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTree, removeTree, runCli } from '../support/tree.js';
import { describeE2E, dockerCmd, registryManifest, registryTags, removeImagesWithPrefix, run, startRegistry, uniqueName, useE2E, type Registry } from './support/e2e.js';
import { makeIn } from './support/make.js';

describeE2E('registry lifecycle, mirrors and offline bundles', () => {
  const e2e = useE2E();
  const ns = uniqueName('life');
  const localPrefix = uniqueName('lifelocal');
  let upstream: Registry;
  let staging: Registry;
  let mirror: Registry;
  let root = '';
  let REGISTRY = '';
  const make = (...args: string[]) => makeIn({ root, registry: REGISTRY, localPrefix }, ...args);
  const hashOf = (name: string) => (JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as { images: Array<{ name: string; hash: string }> }).images.find((i) => i.name === name)!.hash;

  beforeAll(async () => {
    [upstream, staging, mirror] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    REGISTRY = `${staging.host}/${ns}`;
    const copy = await run('skopeo', ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${e2e.baseImageMulti}`, `docker://${upstream.host}/library/busybox:1.36`]);
    expect(copy.code, copy.stderr).toBe(0);
    root = makeTree(
      {
        'images/dockerhub/busybox/image.yaml': `mirror: ${upstream.host}/library/busybox:1.36\npromote: false\n`,
        'images/app/Dockerfile': 'FROM scratch\nCOPY app.txt /\n',
        'images/app/app.txt': 'one\n',
        'images/app/VERSION': '1.0\n',
        'images/app/image.yaml': 'platforms: [linux/amd64, linux/arm64]\n',
      },
      'mkimages-e2e-life-',
    );
    expect(runCli(root).status).toBe(0);
  });

  afterAll(async () => {
    await removeImagesWithPrefix(localPrefix);
    await removeImagesWithPrefix(ns);
    await Promise.all([upstream?.stop(), staging?.stop(), mirror?.stop()]);
    if (root) removeTree(root);
  });

  it('lists built and mirrored images alike', async () => {
    const r = await make('-s', 'list-all-images');
    expect(r.stdout.trim().split('\n')).toEqual([`${REGISTRY}/app:1.0`, `${REGISTRY}/dockerhub/busybox:1.36`]);
  });

  it('mirrors every platform of the upstream image unchanged (same list digest)', async () => {
    const r = await make('mirror-dockerhub/busybox');
    expect(r.code, r.stderr).toBe(0);
    const up = await registryManifest(upstream.host, 'library/busybox', '1.36');
    const down = await registryManifest(staging.host, `${ns}/dockerhub/busybox`, '1.36');
    expect(down.digest).toBe(up.digest);
    expect(down.body.manifests?.length).toBe(2);
  });

  it('refuses to push changed content under a published version, unless FORCE=1', async () => {
    const first = await make('push-app');
    expect(first.code, first.stderr).toBe(0);
    const again = await make('push-app');
    expect(again.code).toBe(0);
    expect(again.pushes).toEqual([]);

    writeFileSync(join(root, 'images/app/app.txt'), 'two\n');
    expect(runCli(root).status).toBe(0);
    const refused = await make('push-app');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${REGISTRY}/app:1.0 is already published with other content`);
    expect(refused.stderr).toContain('bump the version in images/app');
    expect(refused.stderr).toContain('FORCE=1');
    expect(refused.builds).toEqual([]);
    expect(refused.pushes).toEqual([]);

    const forced = await make('push-app', 'FORCE=1');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await registryTags(staging.host, `${ns}/app`)).toContain(hashOf('app'));
  });

  it('copies promoted images by tag to the disconnected registry and writes the mapping file', async () => {
    const MIRROR = `${mirror.host}/disconnected`;
    const r = await make('mirror-all-images', `MIRROR_REGISTRY=${MIRROR}`);
    expect(r.code, r.stderr).toBe(0);
    const mapping = join(root, '_output/mirror-mapping.txt');
    expect(r.stdout).toContain('_output/mirror-mapping.txt');
    expect(readFileSync(mapping, 'utf8')).toBe(`${REGISTRY}/app:1.0=${MIRROR}/app:1.0\n`);
    const copied = await registryManifest(mirror.host, 'disconnected/app', '1.0');
    const source = await registryManifest(staging.host, `${ns}/app`, '1.0');
    expect(copied.digest).toBe(source.digest);
    expect(copied.body.manifests?.map((m) => m.platform?.architecture).filter((a) => a !== 'unknown').sort()).toEqual(['amd64', 'arm64']);
    expect(await registryTags(mirror.host, 'disconnected/dockerhub/busybox')).toEqual([]);
  });

  it('writes a bundle that docker load restores with the canonical names after every local copy is gone', async () => {
    const archive = join(root, 'bundle');
    const r = await make('save-all-images', `ARCHIVE_DIR=${archive}`);
    expect(r.code, r.stderr).toBe(0);
    const bundle = join(archive, 'images.tar.gz');
    expect(existsSync(bundle)).toBe(true);
    await removeImagesWithPrefix(localPrefix);
    await removeImagesWithPrefix(ns);
    expect((await dockerCmd(['image', 'inspect', `${localPrefix}/app:latest`])).code).not.toBe(0);
    const load = await dockerCmd(['load', '-i', bundle]);
    expect(load.code, load.stderr).toBe(0);
    for (const ref of [`${localPrefix}/app:latest`, `${localPrefix}/dockerhub/busybox:latest`, `${REGISTRY}/app:1.0`, `${REGISTRY}/dockerhub/busybox:1.36`]) {
      expect((await dockerCmd(['image', 'inspect', ref])).code, ref).toBe(0);
    }
  });
});
