// Supply chain for real: buildx on the engine (Docker 26.1, containerd image
// store) builds with provenance, lists are made by `imagetools create`,
// cosign 2.5 signs them by digest with a generated key pair (offline: no
// transparency log), and everything is read back from the registry through
// its HTTP API, never from make's output. BuildKit's SBOM scanner
// (docker/buildkit-syft-scanner) is on Docker Hub, which this machine does
// not reach: what that takes is planned in test/make/supply-chain.test.ts,
// and here only the one line a user gets when the scanner cannot be pulled.

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTree, removeTree, runCli } from '../support/tree.js';
import { describeE2E, makeFaultClient, registryManifest, registryTags, removeImagesWithPrefix, run, startRegistry, uniqueName, useE2E, type Registry } from './support/e2e.js';
import { makeIn } from './support/make.js';

interface Catalog {
  images: Array<{ name: string; hash: string; tag: string }>;
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const EPOCH = '1700000000';
const CREATED = '2023-11-14T22:13:20Z';

describeE2E('supply chain: attestations, imagetools lists, cosign signatures, OCI labels (buildx, real registry)', () => {
  const e2e = useE2E();
  const ns = uniqueName('supply');
  const localPrefix = uniqueName('slocal');
  let registry: Registry;
  let REGISTRY = '';
  let root = '';
  let keys = '';
  let cosign = '';

  const hashOf = (name: string) => (JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as Catalog).images.find((i) => i.name === name)!.hash;
  const tags = async (name: string) => (await registryTags(registry.host, `${ns}/${name}`).catch(() => [])).sort();
  const manifest = (name: string, ref: string) => registryManifest(registry.host, `${ns}/${name}`, ref);
  const blob = async (name: string, digest: string) => {
    const res = await fetch(`http://${registry.host}/v2/${ns}/${name}/blobs/${digest}`, { signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(200);
    return JSON.parse(await res.text()) as Record<string, unknown>;
  };
  const sigTag = (digest: string) => digest.replace(':', '-') + '.sig';
  /** Image entries of a list (attestation manifests left out). */
  const platforms = async (name: string, ref: string) =>
    ((await manifest(name, ref)).body.manifests ?? []).filter((m) => m.platform?.os !== 'unknown').map((m) => `${m.platform?.os}/${m.platform?.architecture}`).sort();

  const signing = () => ['SIGN=1', 'COSIGN_OFFLINE=1', `COSIGN_KEY=${join(keys, 'cosign.key')}`, `COSIGN=${cosign}`, `SOURCE_DATE_EPOCH=${EPOCH}`];
  const make = (...args: string[]) => makeIn({ root, registry: REGISTRY, localPrefix, env: { COSIGN_PASSWORD: '' } }, ...args);
  const faulty = async (failPattern: string, ...args: string[]) => {
    const fault = await makeFaultClient({ real: e2e.docker, dir: join(root, `.fault-${Math.random().toString(16).slice(2)}`), failPattern });
    return makeIn({ root, registry: REGISTRY, localPrefix, client: fault.path, env: { COSIGN_PASSWORD: '' } }, ...args);
  };
  const cosignVerify = (ref: string, pub = join(keys, 'cosign.pub')) =>
    run(cosign, ['verify', '--key', pub, '--insecure-ignore-tlog=true', '--allow-insecure-registry', '--allow-http-registry', ref]);

  const linuxImage = (text: string) => ({
    Dockerfile: 'ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY content.txt /\nRUN echo "$(uname -m)" > /arch.txt\n',
    'content.txt': `${text}\n`,
    VERSION: '1.0\n',
    BASEIMAGE: `linux/amd64=${e2e.baseImageMulti}\nlinux/arm64=${e2e.baseImageMulti}\n`,
  });
  const files = (name: string, spec: Record<string, string>) => Object.fromEntries(Object.entries(spec).map(([f, c]) => [`images/${name}/${f}`, c]));

  beforeAll(async () => {
    expect(e2e.cosign, 'cosign 2.5 (bash scripts/install-e2e-deps.sh)').toBeDefined();
    cosign = e2e.cosign!;
    registry = await startRegistry();
    REGISTRY = `${registry.host}/${ns}`;
    keys = mkdtempSync(join(tmpdir(), 'mkimages-cosign-'));
    for (const dir of [keys, join(keys, 'other')]) {
      mkdirSync(dir, { recursive: true });
      const r = await run(cosign, ['generate-key-pair'], { cwd: dir, env: { ...process.env, COSIGN_PASSWORD: '' } });
      expect(r.code, r.stderr).toBe(0);
    }
    root = makeTree(
      {
        'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64, linux/arm64]\n',
        ...files('signed', {
          ...linuxImage('signed'),
          'image.yaml': 'labels:\n  org.opencontainers.image.title: "Signed image, it\'s $(HOME) `x`"\n  org.opencontainers.image.licenses: Apache-2.0\n',
        }),
        ...files('partial', linuxImage('partial')),
        ...files('listfail', linuxImage('listfail')),
        ...files('unsigned', linuxImage('unsigned')),
        ...files('sbom', linuxImage('sbom')),
        // A Linux helper with one entry per Windows version (Kubernetes' windows-servercore-cache).
        ...files('helper', {
          Dockerfile: 'ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY content.txt /\n',
          'content.txt': 'helper\n',
          VERSION: '1.0\n',
          BASEIMAGE: `linux/amd64/ltsc2019=${e2e.baseImageMulti}\nlinux/amd64/ltsc2022=${e2e.baseImageMulti}\n`,
        }),
        // Linux built here, Windows published beforehand (no Windows engine here).
        ...files('mixed', {
          ...linuxImage('mixed'),
          Dockerfile_windows: 'ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY content.txt /\n',
          BASEIMAGE: `linux/amd64=${e2e.baseImageMulti}\nlinux/arm64=${e2e.baseImageMulti}\nwindows/amd64/ltsc2022=mcr.microsoft.com/windows/nanoserver:ltsc2022\n`,
        }),
      },
      'mkimages-e2e-supply-',
    );
    expect(runCli(root).status).toBe(0);
  });

  afterAll(async () => {
    await removeImagesWithPrefix(localPrefix);
    await removeImagesWithPrefix(ns);
    await registry?.stop();
    if (root) removeTree(root);
    if (keys) rmSync(keys, { recursive: true, force: true });
  });

  it('a two-platform push with ATTEST=provenance SIGN=1 COSIGN_OFFLINE=1 COSIGN_KEY: provenance in the list, signed by digest, verify-N passes', async () => {
    const H = hashOf('signed');
    const r = await make('push-signed', 'ATTEST=provenance', ...signing());
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds.filter((b) => b.includes("'--provenance=mode=max'") && b.includes("'--sbom=false'"))).toHaveLength(2);
    expect(r.calls.filter((c) => c.startsWith("'manifest'"))).toEqual([]);

    // The list: an OCI index of both platforms and an attestation manifest for each.
    const list = await manifest('signed', '1.0');
    expect(list.mediaType).toBe(OCI_INDEX);
    const entries = list.body.manifests ?? [];
    const images = entries.filter((m) => m.platform?.os === 'linux');
    const attestations = entries.filter((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest');
    expect(images.map((m) => m.platform?.architecture).sort()).toEqual(['amd64', 'arm64']);
    expect(attestations).toHaveLength(2);
    expect(attestations.map((a) => a.annotations?.['vnd.docker.reference.digest']).sort()).toEqual(images.map((m) => m.digest).sort());
    for (const a of attestations) {
      const att = await manifest('signed', a.digest);
      const predicates = (att.body.layers ?? []).map((l) => l.annotations?.['in-toto.io/predicate-type']);
      expect(predicates).toEqual([expect.stringMatching(/^https:\/\/slsa\.dev\/provenance\//)]);
    }
    // Index annotations: the same keys as the labels.
    expect(list.body.annotations).toMatchObject({
      'org.opencontainers.image.version': '1.0',
      'org.opencontainers.image.created': CREATED,
      'org.opencontainers.image.base.name': e2e.baseImageMulti,
      'org.opencontainers.image.title': "Signed image, it's $(HOME) `x`",
      'org.opencontainers.image.licenses': 'Apache-2.0',
    });

    // :H is the same list; one signature, by that digest, in the registry.
    const content = await manifest('signed', H);
    expect(content.digest).toBe(list.digest);
    expect(await tags('signed')).toEqual(['1.0', '1.0-linux-amd64', '1.0-linux-arm64', H, sigTag(list.digest)].sort());
    const sig = await manifest('signed', sigTag(list.digest));
    expect(sig.body.layers).toHaveLength(1);
    expect(r.stdout).toContain(`>> ${REGISTRY}/signed:${H} (${list.digest}) is signed already`);

    // cosign itself, then verify-N; another key does not verify.
    const ok = await cosignVerify(`${REGISTRY}/signed@${list.digest}`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(list.digest);
    const verify = await make('verify-signed', 'COSIGN_OFFLINE=1', `COSIGN_KEY=${join(keys, 'cosign.key')}`, `COSIGN=${cosign}`);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`>> verifying ${REGISTRY}/signed:1.0: ${cosign} verify --key ${join(keys, 'cosign.pub')} --insecure-ignore-tlog=true --allow-insecure-registry --allow-http-registry ${REGISTRY}/signed@${list.digest}`);
    const wrong = await make('verify-signed', 'COSIGN_OFFLINE=1', `COSIGN_PUBLIC_KEY=${join(keys, 'other/cosign.pub')}`, `COSIGN=${cosign}`);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(`mkimages: the signature of ${REGISTRY}/signed:1.0 (${list.digest}) did not verify`);
  });

  it('the labels are in each image config: created from SOURCE_DATE_EPOCH, base.name, title, and the content label', async () => {
    const H = hashOf('signed');
    const list = await manifest('signed', '1.0');
    for (const entry of (list.body.manifests ?? []).filter((m) => m.platform?.os === 'linux')) {
      const image = await manifest('signed', entry.digest);
      const config = (await blob('signed', image.body.config!.digest)) as { config: { Labels: Record<string, string> } };
      expect(config.config.Labels).toMatchObject({
        'org.opencontainers.image.version': '1.0',
        'org.opencontainers.image.created': CREATED,
        'org.opencontainers.image.base.name': e2e.baseImageMulti,
        'org.opencontainers.image.title': "Signed image, it's $(HOME) `x`",
        'org.opencontainers.image.licenses': 'Apache-2.0',
        'dev.mkimages.content': H,
        'dev.mkimages.platform': `linux-${entry.platform!.architecture}`,
      });
    }
  });

  it('a second SIGN=1 push is a no-op: nothing built, listed or signed again', async () => {
    const digest = (await manifest('signed', '1.0')).digest;
    const r = await make('push-signed', 'ATTEST=provenance', ...signing());
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds).toEqual([]);
    expect(r.pushes).toEqual([]);
    expect(r.stdout).not.toContain('signing');
    expect((await manifest('signed', sigTag(digest))).body.layers).toHaveLength(1);
  });

  it('attested per-platform tags are read back by their labels: a restricted push, then the rest, rebuilds nothing published and signs each list', async () => {
    const H = hashOf('partial');
    const amd = await make('push-partial', 'PLATFORMS=linux/amd64', 'ATTEST=provenance', ...signing());
    expect(amd.code, amd.stderr).toBe(0);
    // The per-platform tag is an index (image + attestation), and its content label is found in it.
    expect((await manifest('partial', '1.0-linux-amd64')).mediaType).toBe(OCI_INDEX);
    expect(await platforms('partial', '1.0')).toEqual(['linux/amd64']);
    const first = (await manifest('partial', '1.0')).digest;
    const rest = await make('push-partial', 'ATTEST=provenance', ...signing());
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.builds.filter((b) => b.includes('linux/amd64'))).toEqual([]);
    expect(rest.builds.filter((b) => b.includes('linux/arm64'))).toHaveLength(1);
    expect(await platforms('partial', '1.0')).toEqual(['linux/amd64', 'linux/arm64']);
    const full = (await manifest('partial', '1.0')).digest;
    expect(await tags('partial')).toEqual(['1.0', '1.0-linux-amd64', '1.0-linux-arm64', H, sigTag(first), sigTag(full)].sort());
    expect((await cosignVerify(`${REGISTRY}/partial@${full}`)).code).toBe(0);
  });

  it('a failed list push leaves no list, no :H and no signature; the rerun publishes and signs them and builds nothing', async () => {
    const H = hashOf('listfail');
    const r = await faulty('imagetools create', 'push-listfail', 'ATTEST=provenance', ...signing());
    expect(r.code).not.toBe(0);
    expect(await tags('listfail')).toEqual(['1.0-linux-amd64', '1.0-linux-arm64']);
    const again = await make('push-listfail', 'ATTEST=provenance', ...signing());
    expect(again.code, again.stderr).toBe(0);
    expect(again.builds).toEqual([]);
    const digest = (await manifest('listfail', '1.0')).digest;
    expect(await tags('listfail')).toEqual(['1.0', '1.0-linux-amd64', '1.0-linux-arm64', H, sigTag(digest)].sort());
  });

  it('an image published without SIGN gets its signature from the next SIGN=1 push, without a rebuild', async () => {
    const first = await make('push-unsigned', 'ATTEST=provenance');
    expect(first.code, first.stderr).toBe(0);
    const digest = (await manifest('unsigned', '1.0')).digest;
    expect(await tags('unsigned')).not.toContain(sigTag(digest));
    const r = await make('push-unsigned', 'ATTEST=provenance', ...signing());
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds).toEqual([]);
    expect(r.pushes).toEqual([]);
    expect(await tags('unsigned')).toContain(sigTag(digest));
    expect((await cosignVerify(`${REGISTRY}/unsigned@${digest}`)).code).toBe(0);
  });

  it('an SBOM scanner that cannot be pulled gives one clear line', async () => {
    const scanner = `${registry.host}/mirror/buildkit-syft-scanner:stable-1`;
    const r = await make('push-sbom', 'ATTEST=sbom provenance', `SBOM_GENERATOR=${scanner}`, 'PLATFORMS=linux/amd64');
    expect(r.code).not.toBe(0);
    expect(r.builds[0]).toContain(`'--attest' 'type=sbom,generator=${scanner}'`);
    const ours = r.stderr.split('\n').filter((l) => l.startsWith('mkimages: '));
    expect(ours).toEqual([
      `mkimages: sbom (linux-amd64): the SBOM scanner ${scanner} cannot be pulled from here: mirror it and set SBOM_GENERATOR=<your copy>, or push with ATTEST=provenance (no SBOM)`,
    ]);
    expect(await tags('sbom')).toEqual([]);
    // ATTEST=provenance goes through.
    const prov = await make('push-sbom', 'ATTEST=provenance', 'PLATFORMS=linux/amd64');
    expect(prov.code, prov.stderr).toBe(0);
  });

  it('a helper with one Linux entry per Windows version: imagetools list with each full os.version', async () => {
    const r = await make('push-helper', 'ATTEST=provenance sbom');
    expect(r.code, r.stderr).toBe(0);
    // Attestations stay off for it (its entries are plain images).
    expect(r.builds.every((b) => b.includes("'--provenance=false' '--sbom=false'"))).toBe(true);
    expect(r.calls.filter((c) => c.startsWith("'manifest'"))).toEqual([]);
    const list = await manifest('helper', '1.0');
    expect((list.body.manifests ?? []).map((m) => [m.platform?.os, m.platform?.architecture, (m.platform as Record<string, string> | undefined)?.['os.version']])).toEqual([
      ['linux', 'amd64', expect.stringMatching(/^10\.0\.17763\.\d+$/)],
      ['linux', 'amd64', expect.stringMatching(/^10\.0\.20348\.\d+$/)],
    ]);
    expect(list.body.annotations?.['org.opencontainers.image.version']).toBe('1.0');
  });

  it('a Windows entry keeps its os.version in an attested imagetools list', async () => {
    // Publish the Windows platform by hand, as a Windows engine would have (an
    // empty image whose config says windows and carries the content label).
    const H = hashOf('mixed');
    const repo = `${ns}/mixed`;
    const put = async (path: string, body: string, type: string, method = 'PUT') => {
      const res = await fetch(`http://${registry.host}/v2/${repo}/${path}`, { method, headers: { 'Content-Type': type }, body, signal: AbortSignal.timeout(30_000) });
      expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
      return res;
    };
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'windows',
      'os.version': '10.0.20348.2966',
      config: { Labels: { 'dev.mkimages.content': H, 'dev.mkimages.platform': 'windows-amd64-ltsc2022' } },
      rootfs: { type: 'layers', diff_ids: [] },
    });
    const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
    const start = await put('blobs/uploads/', '', 'application/octet-stream', 'POST');
    const location = start.headers.get('location')!;
    const upload = await fetch(`${location}${location.includes('?') ? '&' : '?'}digest=${configDigest}`, { method: 'PUT', body: config, headers: { 'Content-Type': 'application/octet-stream' } });
    expect(upload.status).toBe(201);
    const winManifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: Buffer.byteLength(config), digest: configDigest },
      layers: [],
    });
    await put('manifests/1.0-windows-amd64-ltsc2022', winManifest, 'application/vnd.docker.distribution.manifest.v2+json');

    const r = await make('push-mixed', 'ATTEST=provenance', ...signing());
    expect(r.code, r.stderr).toBe(0);
    expect(r.builds.filter((b) => b.includes('windows'))).toEqual([]);
    const list = await manifest('mixed', '1.0');
    expect(list.mediaType).toBe(OCI_INDEX);
    const entries = (list.body.manifests ?? []).filter((m) => m.platform?.os !== 'unknown');
    expect(entries.map((m) => [m.platform?.os, m.platform?.architecture, (m.platform as Record<string, string> | undefined)?.['os.version']]).sort()).toEqual([
      ['linux', 'amd64', undefined],
      ['linux', 'arm64', undefined],
      ['windows', 'amd64', '10.0.20348.2966'],
    ]);
    expect(await tags('mixed')).toContain(H);
    expect((await cosignVerify(`${REGISTRY}/mixed@${list.digest}`)).code).toBe(0);
  });
});
