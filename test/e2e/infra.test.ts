// Smoke test of the e2e infrastructure itself: the engine, the base images,
// BuildKit cross-platform builds (RUN under QEMU for linux/arm64), pushes to a
// 127.0.0.1 registry, and the classic multi-arch path (`docker manifest`).
// infra-engine.test.ts covers buildx, imagetools, podman and the fault client.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  MEDIA_TYPES,
  describeE2E,
  dockerCmd,
  dockerOk,
  registryManifest,
  registryTags,
  removeImagesWithPrefix,
  startRegistry,
  uniqueName,
  run,
  useE2E,
} from './support/e2e.js';

describeE2E('e2e infrastructure', () => {
  const e2e = useE2E();
  const name = uniqueName('mkimages-e2e-infra');
  const remote = `${e2e.registry}/${name}`;
  const buildFlags = e2e.buildFlags ? e2e.buildFlags.split(' ') : [];
  // buildx attaches a provenance attestation by default; with the containerd
  // store it is kept and pushed (an OCI index), which `docker manifest create`
  // refuses as a part. --provenance is a buildx flag: the classic client has none.
  const noAttest = e2e.hasBuildx ? ['--provenance=false'] : [];
  let ctx = '';

  beforeAll(async () => {
    ctx = await mkdtemp(join(tmpdir(), 'mkimages-e2e-infra-'));
    await writeFile(join(ctx, 'hello.txt'), 'hello\n');
    await writeFile(join(ctx, 'Dockerfile.scratch'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    await writeFile(join(ctx, 'Dockerfile.base'), `FROM ${e2e.baseImage}\nRUN echo built > /built.txt\n`);
    await writeFile(join(ctx, 'Dockerfile.multi'), `FROM ${e2e.baseImageMulti}\nRUN uname -m > /uname.txt\n`);
  });

  afterAll(async () => {
    if (ctx) await rm(ctx, { recursive: true, force: true });
    await removeImagesWithPrefix(name);
  });

  it('reaches the engine', async () => {
    const r = await dockerOk(['version', '--format', '{{.Server.Version}}']);
    expect(r.stdout.trim()).not.toBe('');
  });

  it('runs the base image', async () => {
    const r = await dockerOk(['run', '--rm', '--network=none', e2e.baseImage, 'sh', '-c', 'echo ok']);
    expect(r.stdout.trim()).toBe('ok');
  });

  it('builds FROM the local base image with a RUN step, without pulling', async () => {
    await dockerOk(['build', ...buildFlags, '-f', join(ctx, 'Dockerfile.base'), '-t', `${name}:base`, ctx]);
    const r = await dockerOk(['run', '--rm', '--network=none', `${name}:base`, 'cat', '/built.txt']);
    expect(r.stdout.trim()).toBe('built');
  });

  it('builds FROM scratch for linux/arm64 with BuildKit', async () => {
    const tag = `${name}:arm64`;
    await dockerOk(['build', '--platform', 'linux/arm64', '-f', join(ctx, 'Dockerfile.scratch'), '-t', tag, ctx]);
    const r = await dockerOk(['image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', tag]);
    expect(r.stdout.trim()).toBe('linux/arm64');
  });

  it('builds FROM the multi-arch base for linux/arm64, RUN included (arm64 busybox under QEMU)', async () => {
    const tag = `${name}:multi-arm64`;
    await dockerOk(['build', ...buildFlags, '--platform', 'linux/arm64', '-f', join(ctx, 'Dockerfile.multi'), '-t', tag, ctx]);
    const r = await dockerOk(['image', 'inspect', '--format', '{{.Architecture}}', tag]);
    expect(r.stdout.trim()).toBe('arm64');
    const u = await dockerOk(['run', '--rm', '--network=none', '--platform', 'linux/arm64', tag, 'cat', '/uname.txt']);
    expect(u.stdout.trim()).toBe('aarch64');
  });

  it('pushes a tagged image to the registry (an index with an attestation from the containerd store)', async () => {
    await dockerOk(['tag', `${name}:arm64`, `${remote}:arm64-attested`]);
    await dockerOk(['push', `${remote}:arm64-attested`]);
    expect(await registryTags(e2e.registry, name)).toContain('arm64-attested');
    const m = await registryManifest(e2e.registry, name, 'arm64-attested');
    expect(m.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    if (e2e.containerdStore && e2e.hasBuildx) {
      // What BuildKit stored, pushed as is: the image and its provenance.
      expect(m.mediaType).toBe(MEDIA_TYPES.ociIndex);
      const platforms = (m.body.manifests ?? []).map((d) => `${d.platform?.os}/${d.platform?.architecture}`).sort();
      expect(platforms).toEqual(['linux/arm64', 'unknown/unknown']);
    } else {
      expect(m.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    }
  });

  it('pushes a single image manifest when built with --provenance=false', async () => {
    await dockerOk(['build', ...noAttest, '--platform', 'linux/arm64', '-f', join(ctx, 'Dockerfile.scratch'), '-t', `${remote}:arm64`, ctx]);
    await dockerOk(['push', `${remote}:arm64`]);
    const m = await registryManifest(e2e.registry, name, 'arm64');
    expect(m.mediaType).toBe(MEDIA_TYPES.dockerManifest);
  });

  it('creates and pushes a two-arch manifest list with docker manifest', async () => {
    await dockerOk(['build', ...noAttest, '--platform', 'linux/amd64', '-f', join(ctx, 'Dockerfile.scratch'), '-t', `${remote}:amd64`, ctx]);
    await dockerOk(['push', `${remote}:amd64`]);
    const list = `${remote}:list`;
    // Without --insecure, create fails for a 127.0.0.1 registry with a
    // misleading "no such manifest: <part>".
    const secure = await dockerCmd(['manifest', 'create', list, `${remote}:amd64`, `${remote}:arm64`]);
    expect(secure.code).not.toBe(0);
    expect(secure.stderr).toMatch(/no such manifest/i);

    await dockerOk(['manifest', 'create', '--insecure', list, `${remote}:amd64`, `${remote}:arm64`]);
    // A local list of that name now exists in DOCKER_CONFIG: creating it again
    // needs --amend (or `docker manifest rm` first, or push --purge).
    const again = await dockerCmd(['manifest', 'create', '--insecure', list, `${remote}:amd64`, `${remote}:arm64`]);
    expect(again.stderr).toMatch(/refusing to amend/);
    await dockerOk(['manifest', 'push', '--insecure', '--purge', list]);

    const m = await registryManifest(e2e.registry, name, 'list');
    expect(m.mediaType).toBe(MEDIA_TYPES.dockerManifestList);
    const platforms = (m.body.manifests ?? []).map((d) => `${d.platform?.os}/${d.platform?.architecture}`).sort();
    expect(platforms).toEqual(['linux/amd64', 'linux/arm64']);
    // The list's digest is the one the registry serves by digest, too.
    expect((await registryManifest(e2e.registry, name, m.digest)).raw).toBe(m.raw);
  });

  it('starts extra registries from a test file (one a pull-through mirror); skopeo copies between them', async () => {
    const upstream = await startRegistry();
    const mirror = await startRegistry({ proxyRemoteUrl: `http://${e2e.registry}` });
    try {
      expect(upstream.host).not.toBe(e2e.registry);
      expect(await registryTags(upstream.host, name)).toEqual([]);
      const repo = e2e.baseImageMulti.slice(e2e.registry.length + 1).split(':')[0] ?? '';
      const viaMirror = await registryManifest(mirror.host, repo, 'latest');
      const direct = await registryManifest(e2e.registry, repo, 'latest');
      expect(viaMirror.digest).toBe(direct.digest);

      // skopeo (unlike docker) needs --tls-verify=false for 127.0.0.1. With
      // --all it copies the whole list, and the digest stays the same.
      const copy = await run('skopeo', [
        'copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false',
        `docker://${e2e.registry}/${repo}:latest`, `docker://${upstream.host}/${name}:copied`,
      ]);
      expect(copy.code, copy.stderr).toBe(0);
      expect((await registryManifest(upstream.host, name, 'copied')).digest).toBe(direct.digest);
    } finally {
      await upstream.stop();
      await mirror.stop();
    }
  });
});
