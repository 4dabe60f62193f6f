// Publishing that cannot lie: a client wrapper fails one chosen call of a real
// push against the real engine and registry; the registry is then read
// through its HTTP API (never through make's output): no content tag :H, the
// list :TAG unchanged or complete, and a rerun that finishes the job without
// rebuilding what is already published.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTree, removeTree, runCli } from '../support/tree.js';
import { describeE2E, makeFaultClient, registryManifest, registryTags, removeImagesWithPrefix, startRegistry, uniqueName, useE2E, type Registry } from './support/e2e.js';
import { makeIn } from './support/make.js';

interface Catalog {
  images: Array<{ name: string; hash: string; tag: string; publishedName: string }>;
}

describeE2E('publishing under faults (buildx, real registry)', () => {
  const e2e = useE2E();
  const ns = uniqueName('faults');
  const localPrefix = uniqueName('flocal');
  let registry: Registry;
  let REGISTRY = '';
  let root = '';

  const catalog = (): Catalog => JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as Catalog;
  const hashOf = (name: string) => catalog().images.find((i) => i.name === name)!.hash;
  const tags = async (name: string) => (await registryTags(registry.host, `${ns}/${name}`).catch(() => [])).sort();
  const listPlatforms = async (name: string, ref: string) =>
    ((await registryManifest(registry.host, `${ns}/${name}`, ref)).body.manifests ?? [])
      .map((m) => `${m.platform?.os}/${m.platform?.architecture}`)
      .filter((p) => p !== 'unknown/unknown')
      .sort();
  const generate = () => expect(runCli(root).status).toBe(0);
  const make = async (opts: { failPattern?: string; failNth?: number }, ...args: string[]) => {
    const fault = await makeFaultClient({ real: e2e.docker, dir: join(root, `.fault-${Math.random().toString(16).slice(2)}`), ...opts });
    return makeIn({ root, registry: REGISTRY, localPrefix, client: fault.path }, ...args);
  };
  const image = (text: string) => ({
    Dockerfile: `FROM ${e2e.baseImageMulti}\nCOPY content.txt /\nRUN echo "$(uname -m)" > /arch.txt\n`,
    'content.txt': `${text}\n`,
    VERSION: '0.3\n',
  });
  const files = (name: string, text: string) => Object.fromEntries(Object.entries(image(text)).map(([f, c]) => [`images/${name}/${f}`, c]));

  beforeAll(async () => {
    registry = await startRegistry();
    REGISTRY = `${registry.host}/${ns}`;
    root = makeTree(
      {
        'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64, linux/arm64]\n',
        ...files('lister', 'one'),
        ...files('listfail', 'one'),
        ...files('tagfail', 'one'),
        ...files('partial', 'one'),
        ...files('forced', 'one'),
        ...files('bumped', 'one'),
        'images/bumped/.dockerignore': 'VERSION\n',
      },
      'mkimages-e2e-faults-',
    );
    generate();
  });

  afterAll(async () => {
    await removeImagesWithPrefix(localPrefix);
    await registry?.stop();
    if (root) removeTree(root);
  });

  it('a failed arm64 build exits non-zero and publishes no :H and no list; the rerun completes without rebuilding amd64', async () => {
    const H = hashOf('lister');
    const r = await make({ failPattern: 'build .*--platform linux/arm64' }, 'push-lister');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('fault-docker: injected failure');
    expect(await tags('lister')).not.toContain(H);
    expect(await tags('lister')).not.toContain('0.3');
    const again = await make({}, 'push-lister');
    expect(again.code, again.stderr).toBe(0);
    expect(again.builds.filter((b) => b.includes('linux/amd64'))).toEqual([]);
    expect(again.builds.filter((b) => b.includes('linux/arm64'))).toHaveLength(1);
    expect(await tags('lister')).toEqual(['0.3', '0.3-linux-amd64', '0.3-linux-arm64', H].sort());
    expect(await listPlatforms('lister', '0.3')).toEqual(['linux/amd64', 'linux/arm64']);
    expect(await listPlatforms('lister', H)).toEqual(['linux/amd64', 'linux/arm64']);
    const third = await make({}, 'push-lister');
    expect(third.code).toBe(0);
    expect(third.builds).toEqual([]);
    expect(third.pushes).toEqual([]);
    expect(third.stdout).toContain(`lister is up to date: ${REGISTRY}/lister:${H} is published`);
  });

  it('a failed list push leaves no list and no :H; the rerun publishes both and builds nothing', async () => {
    const H = hashOf('listfail');
    const r = await make({ failPattern: 'imagetools create' }, 'push-listfail');
    expect(r.code).not.toBe(0);
    expect(await tags('listfail')).toEqual(['0.3-linux-amd64', '0.3-linux-arm64']);
    const again = await make({}, 'push-listfail');
    expect(again.code, again.stderr).toBe(0);
    expect(again.builds).toEqual([]);
    expect(await tags('listfail')).toEqual(['0.3', '0.3-linux-amd64', '0.3-linux-arm64', H].sort());
  });

  it('a failed content-tag push leaves the list complete and no :H; the rerun adds :H alone', async () => {
    const H = hashOf('tagfail');
    const r = await make({ failPattern: 'imagetools create', failNth: 2 }, 'push-tagfail');
    expect(r.code).not.toBe(0);
    expect(await tags('tagfail')).toEqual(['0.3', '0.3-linux-amd64', '0.3-linux-arm64']);
    expect(await listPlatforms('tagfail', '0.3')).toEqual(['linux/amd64', 'linux/arm64']);
    const again = await make({}, 'push-tagfail');
    expect(again.code, again.stderr).toBe(0);
    expect(again.builds).toEqual([]);
    expect(await tags('tagfail')).toContain(H);
  });

  it('a restricted push lists what is published so far, never :H; the full push completes it without rebuilding amd64', async () => {
    const H = hashOf('partial');
    const r = await make({}, 'push-partial', 'PLATFORMS=linux/amd64');
    expect(r.code, r.stderr).toBe(0);
    expect(await tags('partial')).toEqual(['0.3', '0.3-linux-amd64']);
    expect(await listPlatforms('partial', '0.3')).toEqual(['linux/amd64']);
    const arm = await make({}, 'push-partial', 'ARCH=arm64', 'OS=linux');
    expect(arm.code, arm.stderr).toBe(0);
    expect(arm.builds.filter((b) => b.includes('linux/amd64'))).toEqual([]);
    // The list grew; it never shrank to the one platform of this push.
    expect(await listPlatforms('partial', '0.3')).toEqual(['linux/amd64', 'linux/arm64']);
    expect(await tags('partial')).toContain(H);
  });

  it('other content under a published version is refused, FORCE=0 included; only FORCE=1 overwrites', async () => {
    expect((await make({}, 'push-forced')).code).toBe(0);
    writeFileSync(join(root, 'images/forced/content.txt'), 'two\n');
    generate();
    for (const force of [[], ['FORCE=0'], ['FORCE=yes']]) {
      const r = await make({}, 'push-forced', ...force);
      expect(r.code, force.join(' ')).not.toBe(0);
      expect(r.stderr).toContain('bump the version in images/forced');
      expect(r.builds).toEqual([]);
    }
    const forced = await make({}, 'push-forced', 'FORCE=1');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await tags('forced')).toContain(hashOf('forced'));
  });

  it('a VERSION bump publishes even when .dockerignore leaves VERSION out', async () => {
    expect((await make({}, 'push-bumped')).code).toBe(0);
    const before = hashOf('bumped');
    writeFileSync(join(root, 'images/bumped/VERSION'), '0.4\n');
    generate();
    expect(hashOf('bumped')).not.toBe(before);
    const r = await make({}, 'push-bumped');
    expect(r.code, r.stderr).toBe(0);
    expect(await tags('bumped')).toContain('0.4');
  });

  it('a PLATFORMS value that names no platform is refused before anything runs', async () => {
    const r = await make({}, 'push-all-images', 'PLATFORMS=linux/amd46');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('PLATFORMS=linux/amd46 matches no platform of any image; the platforms are: linux/amd64, linux/arm64');
    expect(r.calls).toEqual([]);
  });
});
