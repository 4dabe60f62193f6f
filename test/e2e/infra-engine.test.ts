// The e2e infrastructure of 2026: Docker 26.1 with the containerd image store,
// buildx 0.13 pushing to a 127.0.0.1 registry, imagetools, a real two-arch
// base image with RUN under QEMU, podman with private storage, cosign, and
// the fault-injecting client wrapper (whose own tests need no engine).

import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BINFMT_MISC, binfmtEnabled } from './support/base-image.js';
import {
  MEDIA_TYPES,
  describeE2E,
  dockerCmd,
  dockerOk,
  makeFaultClient,
  podmanCmd,
  podmanOk,
  registryManifest,
  registryTags,
  removeImagesWithPrefix,
  run,
  runOk,
  uniqueName,
  useE2E,
} from './support/e2e.js';

describe('fault-docker wrapper', () => {
  let dir = '';
  let real = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mkimages-e2e-fault-'));
    // A stand-in for docker: prints what it was asked.
    real = join(dir, 'real-client');
    await writeFile(real, '#!/bin/sh\necho "real: $*"\n');
    await chmod(real, 0o755);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('forwards every call and records it, args joined by single spaces', async () => {
    const f = await makeFaultClient({ real, dir: join(dir, 'record') });
    const a = await run(f.path, ['version']);
    const b = await run(f.path, ['buildx', 'build', '--platform', 'linux/arm64', 'with space', 'two\nlines']);
    expect(a).toMatchObject({ code: 0, stdout: 'real: version\n' });
    expect(b.code).toBe(0);
    expect(f.calls()).toEqual(['version', 'buildx build --platform linux/arm64 with space two lines']);
    expect(f.matches()).toBe(0);
  });

  it('fails only the Nth matching call (an extended regex), with its message', async () => {
    const f = await makeFaultClient({ real, dir: join(dir, 'nth'), failPattern: 'buildx build .*--platform linux/arm64', failNth: 2 });
    const arm = ['buildx', 'build', '--push', '--platform', 'linux/arm64', '.'];
    const amd = ['buildx', 'build', '--platform', 'linux/amd64', '.'];
    const results = [await run(f.path, arm), await run(f.path, amd), await run(f.path, arm), await run(f.path, arm)];
    expect(results.map((r) => r.code)).toEqual([0, 0, 1, 0]);
    expect(results[2]?.stdout).toBe('');
    expect(results[2]?.stderr).toBe('fault-docker: injected failure of buildx build --push --platform linux/arm64 .\n');
    expect(f.calls()).toHaveLength(4);
    expect(f.matches()).toBe(3);
  });

  it('fails the first match by default; no pattern fails nothing', async () => {
    const f = await makeFaultClient({ real, dir: join(dir, 'first'), failPattern: '^manifest push' });
    expect((await run(f.path, ['manifest', 'create', 'x'])).code).toBe(0);
    expect((await run(f.path, ['manifest', 'push', 'x'])).code).toBe(1);
    expect((await run(f.path, ['manifest', 'push', 'x'])).code).toBe(0);
    const none = await makeFaultClient({ real, dir: join(dir, 'none') });
    expect((await run(none.path, ['manifest', 'push', 'x'])).code).toBe(0);
  });

  it('counts matches across concurrent processes: exactly one of many fails', async () => {
    const f = await makeFaultClient({ real, dir: join(dir, 'concurrent'), failPattern: 'imagetools create', failNth: 5 });
    // 12 shells at once, as make -j would start them.
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => run('sh', ['-c', `"$0" buildx imagetools create -t x:${i} a b`, f.path])),
    );
    expect(results.filter((r) => r.code === 1)).toHaveLength(1);
    expect(results.filter((r) => r.code === 0)).toHaveLength(11);
    expect(f.matches()).toBe(12);
    expect(f.calls()).toHaveLength(12);
  });

  it('rejects a bad failNth or a missing real client', async () => {
    await expect(makeFaultClient({ real, dir: join(dir, 'bad'), failNth: 0 })).rejects.toThrow(/failNth/);
    await expect(makeFaultClient({ real: join(dir, 'nope'), dir: join(dir, 'bad') })).rejects.toThrow(/not found/);
  });
});

describeE2E('e2e engine: docker 26, buildx, QEMU, podman, cosign', () => {
  const e2e = useE2E();
  const name = uniqueName('mkimages-e2e-engine');
  const remote = `${e2e.registry}/${name}`;
  const buildFlags = e2e.buildFlags ? e2e.buildFlags.split(' ') : [];
  let ctx = '';

  beforeAll(async () => {
    ctx = await mkdtemp(join(tmpdir(), 'mkimages-e2e-engine-'));
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${e2e.baseImageMulti}\nRUN uname -m > /uname.txt\n`);
  });

  afterAll(async () => {
    if (ctx) await rm(ctx, { recursive: true, force: true });
    await removeImagesWithPrefix(name);
    await removeImagesWithPrefix(`${e2e.registry}/${name}`);
  });

  it('describes the engine in the context: versions, buildx, store, QEMU, podman', async () => {
    expect(e2e.engineVersion).toMatch(/^\d+\.\d+/);
    expect(e2e.clientVersion).toMatch(/^\d+\.\d+/);
    expect(e2e.hasBuildx).toBe(true);
    expect(e2e.buildxVersion).toMatch(/^v?\d+\.\d+/);
    expect(e2e.qemuArm64).toBe(binfmtEnabled('qemu-aarch64'));
    const v = await dockerOk(['version', '--format', '{{.Server.Version}}']);
    expect(v.stdout.trim()).toBe(e2e.engineVersion);
    expect((await dockerOk(['buildx', 'version'])).stdout).toContain(e2e.buildxVersion ?? '?');
    if (e2e.engineKind === 'private') {
      // The private engine is trixie's 26.1 with the containerd image store.
      expect(Number(e2e.engineVersion.split('.')[0])).toBeGreaterThanOrEqual(26);
      expect(e2e.containerdStore).toBe(true);
      const info = await dockerOk(['info', '--format', '{{.Driver}} {{json .DriverStatus}}']);
      expect(info.stdout).toContain('overlayfs');
      expect(info.stdout).toContain('io.containerd.snapshotter.v1');
    }
    if (process.env.CI === 'true') {
      expect(e2e.podman).toBeDefined();
      expect(e2e.qemuArm64).toBe(true);
      expect(e2e.cosign).toBeDefined();
    }
  });

  it('binfmtEnabled() reads the first line of the handler file', () => {
    const file = join(BINFMT_MISC, 'qemu-aarch64');
    const expected = existsSync(file) && readFileSync(file, 'utf8').startsWith('enabled\n');
    expect(binfmtEnabled('qemu-aarch64')).toBe(expected);
    expect(binfmtEnabled('no-such-handler')).toBe(false);
  });

  it('baseImageMulti is a real two-arch list: an amd64 and an arm64 busybox', async () => {
    const repo = e2e.baseImageMulti.slice(e2e.registry.length + 1).split(':')[0] ?? '';
    const list = await registryManifest(e2e.registry, repo, 'latest');
    expect(list.mediaType).toBe(MEDIA_TYPES.dockerManifestList);
    const entries = list.body.manifests ?? [];
    expect(entries.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    const layers = await Promise.all(entries.map(async (d) => (await registryManifest(e2e.registry, repo, d.digest)).body.layers?.[0]?.digest));
    expect(new Set(layers).size).toBe(2);
  });

  it('RUN in a linux/arm64 build runs arm64 code under QEMU; linux/amd64 runs natively', async () => {
    for (const [platform, machine] of [['linux/arm64', 'aarch64'], ['linux/amd64', 'x86_64']] as const) {
      const tag = `${name}:${platform.split('/')[1]}`;
      await dockerOk(['buildx', 'build', ...buildFlags, '--platform', platform, '-t', tag, ctx]);
      const r = await dockerOk(['run', '--rm', '--network=none', '--platform', platform, tag, 'cat', '/uname.txt']);
      expect(r.stdout.trim()).toBe(machine);
    }
  });

  it('buildx --push to http://127.0.0.1 with the docker driver; imagetools inspect and create need no config', async () => {
    // Both platforms at once: a multi-platform build, which the docker driver
    // can do only with the containerd store.
    const platforms = e2e.containerdStore ? 'linux/amd64,linux/arm64' : 'linux/amd64';
    await dockerOk(['buildx', 'build', ...buildFlags, '--platform', platforms, '--provenance=false', '-t', `${remote}:pushed`, '--push', ctx]);
    const pushed = await registryManifest(e2e.registry, name, 'pushed');
    expect(pushed.digest).toMatch(/^sha256:/);

    const inspect = await dockerOk(['buildx', 'imagetools', 'inspect', '--raw', `${remote}:pushed`]);
    expect(JSON.parse(inspect.stdout)).toEqual(JSON.parse(pushed.raw));

    // A list from per-platform tags, as a Makefile publishing each platform
    // separately would make it.
    const parts = ['amd64', 'arm64'];
    for (const arch of parts) {
      await dockerOk(['buildx', 'build', ...buildFlags, '--platform', `linux/${arch}`, '--provenance=false', '-t', `${remote}:part-${arch}`, '--push', ctx]);
    }
    await dockerOk(['buildx', 'imagetools', 'create', '-t', `${remote}:list`, ...parts.map((a) => `${remote}:part-${a}`)]);
    const list = await registryManifest(e2e.registry, name, 'list');
    expect((list.body.manifests ?? []).map((d) => d.platform?.architecture).sort()).toEqual(['amd64', 'arm64']);
  });

  it('podman (private storage) builds linux/arm64 FROM baseImageMulti with RUN, runs it, pushes it', async () => {
    if (!e2e.podman) throw new Error('podman is not installed (scripts/install-e2e-deps.sh)');
    const root = (await podmanOk(['info', '--format', '{{.Store.GraphRoot}}'])).stdout.trim();
    expect(root).not.toBe('/var/lib/containers/storage');
    expect(root).toMatch(/mkimages-e2e-podman-/);

    const tag = `${remote}:podman-arm64`;
    await podmanOk(['build', ...buildFlags, '--platform', 'linux/arm64', '-t', tag, ctx]);
    const r = await podmanOk(['run', '--rm', '--platform', 'linux/arm64', tag, 'cat', '/uname.txt']);
    expect(r.stdout.trim()).toBe('aarch64');
    await podmanOk(['push', '--tls-verify=false', tag]);
    expect(await registryTags(e2e.registry, name)).toContain('podman-arm64');
    // registries.conf makes every 127.0.0.1 port plain HTTP: no flag needed.
    await podmanOk(['tag', tag, `${remote}:podman-arm64-b`]);
    await podmanOk(['push', `${remote}:podman-arm64-b`]);
    expect(await registryTags(e2e.registry, name)).toContain('podman-arm64-b');
    // The docker engine's images are not podman's.
    expect((await dockerCmd(['image', 'inspect', `${remote}:podman-arm64-b`])).code).not.toBe(0);
    const images = await podmanCmd(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(images.stdout).toContain(`${remote}:podman-arm64-b`);
  });

  it('the fault client wraps the real docker: one matching call fails, the rest reach the engine', async () => {
    const f = await makeFaultClient({ real: e2e.docker, dir: join(ctx, 'fault'), failPattern: '^image inspect' });
    const env = { ...process.env, DOCKER_HOST: e2e.dockerHost, DOCKER_CONFIG: e2e.dockerConfig };
    const first = await run(f.path, ['image', 'inspect', e2e.baseImage], { env });
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(`fault-docker: injected failure of image inspect ${e2e.baseImage}`);
    expect((await run(f.path, ['image', 'inspect', e2e.baseImage], { env })).code).toBe(0);
    expect((await run(f.path, ['version'], { env })).code).toBe(0);
    expect(f.calls()).toEqual([`image inspect ${e2e.baseImage}`, `image inspect ${e2e.baseImage}`, 'version']);
  });

  it('cosign signs and verifies an image in the 127.0.0.1 registry with a local key, offline', async () => {
    if (!e2e.cosign) throw new Error('cosign is not installed (scripts/install-e2e-deps.sh)');
    const dir = join(ctx, 'cosign');
    const env = { ...process.env, COSIGN_PASSWORD: '', DOCKER_CONFIG: e2e.dockerConfig };
    await runOk('mkdir', ['-p', dir]);
    await runOk(e2e.cosign, ['generate-key-pair'], { cwd: dir, env });
    const repo = e2e.baseImageMulti.slice(0, e2e.baseImageMulti.lastIndexOf(':'));
    const digest = (await registryManifest(e2e.registry, repo.slice(e2e.registry.length + 1), 'latest')).digest;
    const ref = `${repo}@${digest}`;
    await runOk(e2e.cosign, ['sign', '--yes', '--key', 'cosign.key', '--tlog-upload=false', '--allow-http-registry', ref], { cwd: dir, env });
    const v = await run(e2e.cosign, ['verify', '--key', 'cosign.pub', '--insecure-ignore-tlog', '--allow-http-registry', ref], { cwd: dir, env });
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)[0].critical.image['docker-manifest-digest']).toBe(digest);
  });
});
