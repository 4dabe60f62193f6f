// podman as the engine, for real: Debian's podman 4.3 with storage of the
// run's own, driven by the generated Makefile through the recording wrapper
// (DOCKER=<wrapper>, so make finds podman by `--version`), against real
// registries read through their HTTP API. The podman make uses here has no
// insecure registries configured, as on a user's machine: every command that
// reaches a loopback registry needs its --tls-verify=false.
//
// Covered: build and its no-op; the same image ID after `podman rmi` and a
// rebuild (SOURCE_DATE_EPOCH as --timestamp); a two-platform push of a FROM
// scratch image (list and :H, two distinct images: podman 4.3's cache pitfall);
// load by pull; faults half-way; save-all-images loaded by `podman load -i`
// (and `docker load -i`); the bundle mirrored into a second registry while
// the first is down. The tests run in order and build on each other (the
// rebuild needs the build, load the push, the mirror the bundle): run the
// whole file, not one test with -t.

import { readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTree, removeTree, runCli } from '../support/tree.js';
import {
  describeE2E,
  dockerCmd,
  makeFaultClient,
  podmanCmd,
  podmanOk,
  registryManifest,
  registryTags,
  removeImagesWithPrefix,
  run,
  startRegistry,
  uniqueName,
  useE2E,
  type Registry,
} from './support/e2e.js';
import { makeIn, type MakeResult } from './support/make.js';
import { shQuote } from './support/podman.js';

interface Catalog {
  images: Array<{ name: string; hash: string; tag: string }>;
}
interface ImageConfig {
  architecture: string;
  os: string;
  config?: { Labels?: Record<string, string> };
}

describeE2E('podman as the engine (podman 4.3, real registries)', () => {
  const e2e = useE2E();
  const ns = uniqueName('pm');
  // No dot: podman stores it as localhost/<prefix>/..., which make must still recognise.
  const localPrefix = uniqueName('pmlocal');
  let registry: Registry;
  let source: Registry | undefined;
  let mirror: Registry;
  let REGISTRY = '';
  let root = '';
  let bundleRoot = '';
  let client = '';
  let work = '';

  const hashIn = (dir: string, name: string) => (JSON.parse(readFileSync(join(dir, 'generated/images.json'), 'utf8')) as Catalog).images.find((i) => i.name === name)!.hash;
  const hashOf = (name: string) => hashIn(root, name);
  const tags = (host: string, repo: string) => registryTags(host, repo).catch(() => [] as string[]);
  const make = (...args: string[]) => makeIn({ root, registry: REGISTRY, localPrefix, client }, ...args);
  const fault = async (failPattern: string, ...args: string[]): Promise<MakeResult> => {
    const f = await makeFaultClient({ real: client, failPattern, dir: join(work, `fault-${Math.random().toString(16).slice(2)}`) });
    return makeIn({ root, registry: REGISTRY, localPrefix, client: f.path }, ...args);
  };
  const imageId = async (ref: string) => (await podmanOk(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();
  const exists = async (ref: string) => (await podmanCmd(['image', 'exists', ref])).code === 0;
  /** Removes from podman's storage every image one of whose names contains `part` (and the run's id). */
  const removeLocal = async (part: string) => {
    expect(part).toContain(e2e.runId);
    const ls = await podmanOk(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    const ids = [...new Set(ls.stdout.split('\n').filter((l) => l.includes(part)).map((l) => l.split(' ')[1]!))];
    if (ids.length) await podmanOk(['rmi', '--force', ...ids]);
    return ids;
  };
  const config = async (host: string, repo: string, digest: string): Promise<ImageConfig> => {
    const m = await registryManifest(host, repo, digest);
    const res = await fetch(`http://${host}/v2/${repo}/blobs/${m.body.config!.digest}`, { signal: AbortSignal.timeout(30_000) });
    return JSON.parse(await res.text()) as ImageConfig;
  };
  /** The list's entries: platform, digest, and the image config each points to. */
  const entries = async (host: string, repo: string, ref: string) => {
    const list = await registryManifest(host, repo, ref);
    return Promise.all(
      (list.body.manifests ?? []).map(async (m) => ({ platform: `${m.platform?.os}/${m.platform?.architecture}`, digest: m.digest, config: await config(host, repo, m.digest) })),
    );
  };
  const scratch = (name: string, text: string, version?: string) => ({
    [`images/${name}/Dockerfile`]: 'FROM scratch\nCOPY content.txt /\n',
    [`images/${name}/content.txt`]: `${text}\n`,
    ...(version ? { [`images/${name}/VERSION`]: `${version}\n` } : {}),
  });

  beforeAll(async () => {
    if (!e2e.podman) throw new Error('podman is not installed (scripts/install-e2e-deps.sh)');
    [registry, source, mirror] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    REGISTRY = `${registry.host}/${ns}`;
    root = makeTree(
      {
        'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64, linux/arm64]\n',
        ...scratch('solo', 'solo', '1.0'),
        ...scratch('duo', 'duo', '0.1'),
        ...scratch('twin', 'twin', '0.1'),
        ...scratch('armfail', 'armfail', '0.1'),
        ...scratch('listfail', 'listfail', '0.1'),
        ...scratch('order', 'order', '0.1'),
        'images/runner/Dockerfile': `FROM ${e2e.baseImageMulti}\nRUN uname -m > /arch.txt\n`,
        'images/runner/VERSION': '2.0\n',
      },
      'mkimages-e2e-podman-',
    );
    expect(runCli(root).status).toBe(0);
    bundleRoot = makeTree(
      {
        'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64, linux/arm64]\n',
        ...scratch('a', 'a', '1.0'),
        ...scratch('b', 'b'),
        ...scratch('kept', 'kept', '3.0'),
        'images/kept/image.yaml': 'promote: false\n',
      },
      'mkimages-e2e-podman-bundle-',
    );
    expect(runCli(bundleRoot).status).toBe(0);

    // The run's podman with registries.conf of a user's machine (nothing
    // insecure), same storage: what make does must carry its own TLS flags.
    work = join(root, '.podman-e2e');
    mkdirSync(work);
    const strictConf = join(work, 'registries.conf');
    writeFileSync(strictConf, 'unqualified-search-registries = []\n');
    const wrapper = readFileSync(e2e.podman, 'utf8');
    const strict = wrapper.replace(/CONTAINERS_REGISTRIES_CONF='[^']*'/, `CONTAINERS_REGISTRIES_CONF=${shQuote(strictConf)}`);
    expect(strict).not.toBe(wrapper);
    client = join(work, 'podman');
    writeFileSync(client, strict);
    chmodSync(client, 0o755);
    const plain = await run(client, ['pull', `${e2e.baseImageMulti}`]);
    expect(plain.code, 'without --tls-verify=false this podman refuses a plain-HTTP registry').not.toBe(0);
    expect(plain.stderr).toContain('HTTP response to HTTPS client');
  });

  afterAll(async () => {
    await removeImagesWithPrefix(ns).catch(() => {});
    await removeImagesWithPrefix(localPrefix).catch(() => {});
    await Promise.all([registry?.stop(), source?.stop(), mirror?.stop()]);
    if (root) removeTree(root);
    if (bundleRoot) removeTree(bundleRoot);
  });

  it('build-N builds with podman (found by --version) into its storage; a second build-N makes no build call', async () => {
    const H = hashOf('solo');
    const r = await make('build-solo');
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds).toHaveLength(1);
    expect(r.builds[0]).toContain("'--layers=false'");
    expect(r.builds[0]).toContain("'--timestamp' '0'");
    expect(r.builds[0]).toContain("'--platform' 'linux/amd64'");
    expect(await exists(`${localPrefix}/solo:latest`)).toBe(true);
    expect(await exists(`${localPrefix}/solo:${H}`)).toBe(true);
    const again = await make('build-solo');
    expect(again.code, again.stderr).toBe(0);
    expect(again.builds).toEqual([]);
    expect(again.calls.filter((c) => c.startsWith("'tag'"))).toEqual([]);
    expect(again.stdout).toContain(`solo (linux-amd64) is up to date: ${localPrefix}/solo:${H}-linux-amd64`);
  });

  it('podman rmi, then build-N again: the same image ID (SOURCE_DATE_EPOCH as --timestamp)', async () => {
    const before = await imageId(`${localPrefix}/solo:latest`);
    expect(await removeLocal(`${localPrefix}/solo:`)).toEqual([before.slice(0, 12)]);
    expect(await exists(`${localPrefix}/solo:latest`)).toBe(false);
    const r = await make('build-solo');
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds).toHaveLength(1);
    const after = await imageId(`${localPrefix}/solo:latest`);
    console.log(`[podman e2e] solo: image ID ${before} before podman rmi, ${after} after the rebuild`);
    expect(after).toBe(before);
    // The time is an input: another SOURCE_DATE_EPOCH, another image, made at that time.
    const other = await make('rebuild-solo', 'SOURCE_DATE_EPOCH=1700000000');
    expect(other.code, other.stderr).toBe(0);
    const built = `${localPrefix}/solo:${hashOf('solo')}-linux-amd64`;
    expect(await imageId(built)).not.toBe(before);
    expect((await podmanOk(['image', 'inspect', '--format', '{{.Created}}', built])).stdout).toContain('2023-11-14 22:13:20');
  });

  it('push-N of a FROM scratch image for two platforms: per-platform tags, a list of two distinct images, and :H', async () => {
    const H = hashOf('duo');
    const r = await make('push-duo');
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds.map((b) => /'--platform' '([^']+)'/.exec(b)![1])).toEqual(['linux/amd64', 'linux/arm64']);
    expect(r.calls.filter((c) => c.startsWith("'manifest'")).map((c) => c.split("' '").slice(0, 2).join(' ').slice(1))).toEqual([
      'manifest create',
      'manifest add',
      'manifest add',
      'manifest push',
    ]);
    expect(await tags(registry.host, `${ns}/duo`)).toEqual(['0.1', '0.1-linux-amd64', '0.1-linux-arm64', H].sort());
    const list = await entries(registry.host, `${ns}/duo`, '0.1');
    expect(list.map((e) => e.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    // Two images, each of its own architecture, each labelled with its content and platform.
    expect(new Set(list.map((e) => e.digest)).size).toBe(2);
    expect(list.map((e) => `${e.config.os}/${e.config.architecture} ${e.config.config?.Labels?.['dev.mkimages.platform']} ${e.config.config?.Labels?.['dev.mkimages.content']}`)).toEqual([
      `linux/amd64 linux-amd64 ${H}`,
      `linux/arm64 linux-arm64 ${H}`,
    ]);
    // :H is the same list.
    expect((await registryManifest(registry.host, `${ns}/duo`, H)).digest).toBe((await registryManifest(registry.host, `${ns}/duo`, '0.1')).digest);
    // No local list is left behind.
    expect((await podmanOk(['images', '--format', '{{.Repository}}'])).stdout).not.toContain('mkimages-list');
    const again = await make('push-duo');
    expect(again.code, again.stderr).toBe(0);
    expect(again.builds).toEqual([]);
    expect(again.pushes).toEqual([]);
    expect(again.stdout).toContain(`duo is up to date: ${REGISTRY}/duo:${H} is published`);
  });

  it('with podman\'s layer cache on (BUILD_FLAGS=--layers=true), the platform label alone keeps the two platforms apart', async () => {
    // The pitfall itself, measured: the same FROM scratch context built for
    // arm64 then amd64 with the cache and no label gives podman 4.3 one image.
    const ctx = join(root, 'images/twin');
    const bare = `localhost/${uniqueName('bare')}`;
    await podmanOk(['build', '--layers=true', '--platform', 'linux/arm64', '-t', `${bare}:arm64`, ctx]);
    await podmanOk(['build', '--layers=true', '--platform', 'linux/amd64', '-t', `${bare}:amd64`, ctx]);
    const [arm, amd] = [await imageId(`${bare}:arm64`), await imageId(`${bare}:amd64`)];
    const amdArch = (await podmanOk(['image', 'inspect', '--format', '{{.Architecture}}', `${bare}:amd64`])).stdout.trim();
    console.log(`[podman e2e] podman ${e2e.podmanVersion}, no label, cache on: arm64 build ${arm}, amd64 build ${amd} (${amdArch})`);
    if (e2e.podmanVersion?.startsWith('4.3.')) expect(amd).toBe(arm);
    await removeLocal(bare);

    const H = hashOf('twin');
    const r = await make('push-twin', `BUILD_FLAGS=${e2e.buildFlags} --layers=true`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds).toHaveLength(2);
    expect(r.builds.every((b) => b.includes("'--layers=true'"))).toBe(true);
    const list = await entries(registry.host, `${ns}/twin`, '0.1');
    expect(list.map((e) => `${e.platform} ${e.config.architecture}`)).toEqual(['linux/amd64 amd64', 'linux/arm64 arm64']);
    expect(new Set(list.map((e) => e.digest)).size).toBe(2);
    expect(await tags(registry.host, `${ns}/twin`)).toContain(H);
  });

  it('a platform\'s image ID does not depend on what the cache holds: amd64 after arm64 is amd64 built alone', async () => {
    const arm = await make('build-order-linux-arm64');
    expect(arm.code, arm.stderr).toBe(0);
    const amd = await make('build-order-linux-amd64');
    expect(amd.code, amd.stderr).toBe(0);
    expect(amd.builds).toHaveLength(1);
    const id = await imageId(`${localPrefix}/order:${hashOf('order')}-linux-amd64`);
    // The same build, by hand, with no cache at all and a name of its own.
    const args = [...amd.builds[0]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
    const alone = args.flatMap((a, i) => (a === '-t' || args[i - 1] === '-t' ? [] : [a]));
    alone.splice(1, 0, '--no-cache', '-t', `localhost/${uniqueName('alone')}:amd64`);
    const ref = await run(client, alone, { cwd: root });
    expect(ref.code, ref.stderr).toBe(0);
    const aloneId = await imageId(`localhost/${uniqueName('alone')}:amd64`);
    console.log(`[podman e2e] order: amd64 built after arm64 ${id}, built alone with --no-cache ${aloneId}`);
    expect(id).toBe(aloneId);
  });

  it('RUN steps run for each platform (arm64 under QEMU), and the list holds both', async () => {
    const r = await make('-j4', 'push-runner');
    expect(r.code, r.stderr).toBe(0);
    const list = await entries(registry.host, `${ns}/runner`, '2.0');
    expect(list.map((e) => `${e.platform} ${e.config.architecture}`)).toEqual(['linux/amd64 amd64', 'linux/arm64 arm64']);
    const ref = `${REGISTRY}/runner:2.0`;
    await podmanOk(['pull', '--tls-verify=false', '--platform', 'linux/arm64', ref]);
    expect((await podmanOk(['run', '--rm', '--platform', 'linux/arm64', ref, 'cat', '/arch.txt'])).stdout.trim()).toBe('aarch64');
  });

  it('load-N after podman rmi pulls :H and builds nothing', async () => {
    const H = hashOf('duo');
    await removeLocal(`${ns}/duo:`);
    await removeLocal(`${localPrefix}/duo:`);
    expect(await exists(`${localPrefix}/duo:latest`)).toBe(false);
    const r = await make('load-duo');
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds).toEqual([]);
    expect(r.calls).toContain(`'pull' '--tls-verify=false' '--platform' 'linux/amd64' '${REGISTRY}/duo:${H}'`);
    expect(await exists(`${localPrefix}/duo:latest`)).toBe(true);
    expect((await podmanOk(['image', 'inspect', '--format', '{{.Architecture}} {{index .Labels "dev.mkimages.content"}}', `${localPrefix}/duo:latest`])).stdout.trim()).toBe(`amd64 ${H}`);
    const again = await make('load-duo');
    expect(again.code, again.stderr).toBe(0);
    expect(again.calls.filter((c) => /^'(pull|build|tag)'/.test(c))).toEqual([]);
    expect(again.stdout).toContain(`duo is loaded: ${localPrefix}/duo:latest`);
  });

  it('a failed arm64 build exits non-zero and publishes no :H and no list; the rerun completes without rebuilding amd64', async () => {
    const H = hashOf('armfail');
    const r = await fault('build .*--platform linux/arm64', 'push-armfail');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('fault-docker: injected failure');
    expect(await tags(registry.host, `${ns}/armfail`)).toEqual(['0.1-linux-amd64']);
    const again = await make('push-armfail');
    expect(again.code, again.stderr).toBe(0);
    expect(again.builds.map((b) => /'--platform' '([^']+)'/.exec(b)![1])).toEqual(['linux/arm64']);
    expect(await tags(registry.host, `${ns}/armfail`)).toEqual(['0.1', '0.1-linux-amd64', '0.1-linux-arm64', H].sort());
    expect((await entries(registry.host, `${ns}/armfail`, H)).map((e) => e.platform)).toEqual(['linux/amd64', 'linux/arm64']);
  });

  it('a failed podman manifest push leaves no list and no :H; the rerun publishes both and builds nothing', async () => {
    const H = hashOf('listfail');
    const r = await fault('manifest push', 'push-listfail');
    expect(r.code).not.toBe(0);
    expect(await tags(registry.host, `${ns}/listfail`)).toEqual(['0.1-linux-amd64', '0.1-linux-arm64']);
    const again = await make('push-listfail');
    expect(again.code, again.stderr).toBe(0);
    expect(again.builds).toEqual([]);
    expect(await tags(registry.host, `${ns}/listfail`)).toEqual(['0.1', '0.1-linux-amd64', '0.1-linux-arm64', H].sort());
  });

  it('save-all-images writes a bundle that podman load -i (and docker load -i) restore under the published and the local names', async () => {
    const SRC = `${source!.host}/${ns}`;
    const archive = join(work, 'archive');
    const r = await makeIn({ root: bundleRoot, registry: SRC, localPrefix, client }, '-j4', 'save-all-images', `ARCHIVE_DIR=${archive}`);
    expect(r.code, r.stderr).toBe(0);
    const bundle = join(archive, 'images.tar.xz');
    expect(r.stdout).toContain(`>> wrote ${archive}/images.tar.xz (3 image(s))`);
    const names = [`${SRC}/a:1.0`, `${SRC}/b:${hashIn(bundleRoot, 'b')}`, `${SRC}/kept:3.0`, `${localPrefix}/a:latest`, `${localPrefix}/b:latest`, `${localPrefix}/kept:latest`];
    const ids = await Promise.all(names.map(imageId));
    for (const part of [`${SRC}/`, `${localPrefix}/a:`, `${localPrefix}/b:`, `${localPrefix}/kept:`]) await removeLocal(part);
    for (const n of names) expect(await exists(n), n).toBe(false);
    const load = await podmanCmd(['load', '-i', bundle]);
    expect(load.code, load.stderr).toBe(0);
    for (const n of names) expect(await exists(n), n).toBe(true);
    expect(await Promise.all(names.map(imageId))).toEqual(ids);
    // Why xz: podman 4.3 as Debian ships it cannot load the same archive gzip'd.
    const gz = join(archive, 'images.tar.gz');
    expect((await run('sh', ['-c', `xz -dc '${bundle}' | gzip -c > '${gz}'`])).code).toBe(0);
    const gzLoad = await podmanCmd(['load', '-i', gz]);
    console.log(`[podman e2e] podman ${e2e.podmanVersion} load -i <gzip docker-archive>: exit ${gzLoad.code}`);
    if (e2e.podmanVersion?.startsWith('4.3.')) expect(gzLoad.stderr).toContain('payload does not match any of the supported image formats');
    // The same file through docker load.
    const docker = await dockerCmd(['load', '-i', bundle]);
    expect(docker.code, docker.stderr).toBe(0);
    for (const n of [`${SRC}/a:1.0`, `${SRC}/b:${hashIn(bundleRoot, 'b')}`]) expect(docker.stdout).toContain(n);
  });

  it('mirror-all-images MIRROR_FROM=<bundle> pushes the bundle by tag into a second registry, REGISTRY down, and writes the mapping file', async () => {
    const SRC = `${source!.host}/${ns}`;
    const DEST = `${mirror.host}/disconnected`;
    const bundle = join(work, 'archive/images.tar.xz');
    await source!.stop();
    source = undefined;
    const mapping = join(work, 'mapping.txt');
    const hb = hashIn(bundleRoot, 'b');
    const r = await makeIn({ root: bundleRoot, registry: SRC, localPrefix, client }, 'mirror-all-images', `MIRROR_FROM=${bundle}`, `MIRROR_REGISTRY=${DEST}`, `MIRROR_MAPPING=${mapping}`);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(mapping, 'utf8')).toBe(`${SRC}/a:1.0=${DEST}/a:1.0\n${SRC}/b:${hb}=${DEST}/b:${hb}\n`);
    expect(await tags(mirror.host, 'disconnected/a')).toEqual(['1.0']);
    expect(await tags(mirror.host, 'disconnected/b')).toEqual([hb]);
    // promote: false stays out.
    expect(await tags(mirror.host, 'disconnected/kept')).toEqual([]);
    // The image is the one that was saved: its config digest is podman's image ID.
    const a = await registryManifest(mirror.host, 'disconnected/a', '1.0');
    expect(a.body.config!.digest).toBe(`sha256:${await imageId(`${SRC}/a:1.0`)}`);
    expect((await config(mirror.host, 'disconnected/a', '1.0')).config?.Labels?.['dev.mkimages.content']).toBe(hashIn(bundleRoot, 'a'));
    // Again: the destination holds them, nothing is copied.
    const again = await makeIn({ root: bundleRoot, registry: SRC, localPrefix, client }, 'mirror-all-images', `MIRROR_FROM=${bundle}`, `MIRROR_REGISTRY=${DEST}`, `MIRROR_MAPPING=${mapping}`);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${DEST}/a:1.0 is up to date`);
    expect(again.stdout).not.toContain('>> copying');
    // With the engine instead of skopeo: podman loads, tags and pushes.
    const engine = await makeIn({ root: bundleRoot, registry: SRC, localPrefix, client }, 'mirror-all-images', `MIRROR_FROM=${bundle}`, `MIRROR_REGISTRY=${mirror.host}/engine`, `MIRROR_MAPPING=${mapping}`, 'BUNDLE_TOOL=engine');
    expect(engine.code, engine.stderr).toBe(0);
    expect(engine.pushes).toEqual([`'push' '--tls-verify=false' '${mirror.host}/engine/a:1.0'`, `'push' '--tls-verify=false' '${mirror.host}/engine/b:${hb}'`]);
    expect(await tags(mirror.host, 'engine/a')).toEqual(['1.0']);
  });
});
