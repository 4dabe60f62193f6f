// Supply chain, planned (make -n) and run with stand-ins: what cannot run on
// this machine (BuildKit's SBOM scanner from Docker Hub, keyless signing with
// Fulcio and Rekor, Windows builds) is proven here by the exact calls make
// makes. A buildx stand-in (a `docker` on PATH that remembers what
// `imagetools create` and a build made, and answers registry reads for them)
// and test/support/fake-cosign (`cosign` on PATH) write one log, in order.
// What runs for real against an engine and a registry is in
// test/e2e/supply-chain.test.ts.

import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FAKE_DOCKER, PROJECT_ROOT, makeTree, runCli, runMake } from '../support/tree.js';

const FAKE_COSIGN = join(PROJECT_ROOT, 'test/support/fake-cosign');
const fixture = (name: string) => join(PROJECT_ROOT, 'test/fixtures', name);
const REGISTRY = '127.0.0.1:5000/e2e';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** make -n on a fixture with the recording docker stand-in (buildx present unless buildx: false). */
function plan(root: string, args: string[], env: Record<string, string> = {}, buildx = true) {
  const r = runMake(root, ['-f', 'generated/images.mk', '-n', `DOCKER=${FAKE_DOCKER}`, `REGISTRY=${REGISTRY}`, ...args], { ...(buildx ? { FAKE_DOCKER_BUILDX: '1' } : {}), ...env });
  return { ...r, lines: r.stdout.split('\n') };
}

/** A buildx stand-in: logs `docker <args>`, and answers registry reads for what it made (lists, builds, signatures). */
function buildxStandIn(log: string, made: string): string {
  return [
    '#!/bin/sh',
    // (A descriptor file, imagetools create -f FILE, is logged as what it holds.)
    `line=$*; case "$*" in "buildx imagetools create "*) line=; f=; for a; do if [ -n "$f" ]; then a=$(cat "$a"); line=\${line% -f}; f=; elif [ "$a" = -f ]; then f=1; fi; line="$line\${line:+ }$a"; done ;; esac; printf 'docker %s\\n' "$line" >> '${log}'`,
    `made='${made}'`,
    'tags() { while [ $# -gt 0 ]; do [ "$1" = -t ] && echo "$2"; shift; done; }',
    'case "$*" in',
    '  "buildx version") echo "github.com/docker/buildx v0.13.1 stand-in"; exit 0 ;;',
    '  "buildx build "*) tags "$@" >> "$made"; exit 0 ;;',
    '  "buildx imagetools create -t "*) echo "$5" >> "$made"; exit 0 ;;',
    // Every manifest the stand-in serves is the same document: a copy has its source's digest.
    '  "buildx imagetools inspect --raw "*) grep -qxF -- "$5" "$made" 2>/dev/null && { printf \'{"schemaVersion": 2}\'; exit 0; }; echo "ERROR: $5: not found" >&2; exit 1 ;;',
    '  "buildx imagetools inspect "*) echo "ERROR: $4: not found" >&2; exit 1 ;;',
    'esac',
    'exit 0',
    '',
  ].join('\n');
}

/** A copy of a fixture with `docker` (buildx stand-in) and `cosign` (fake-cosign) first on PATH. */
function world(name: string) {
  const root = tempDir('mkimages-supply-');
  cpSync(fixture(name), root, { recursive: true });
  const bin = join(root, '.bin');
  mkdirSync(bin);
  const log = join(root, 'calls.log');
  const made = join(root, 'made');
  writeFileSync(log, '');
  writeFileSync(made, '');
  writeFileSync(join(bin, 'docker'), buildxStandIn(log, made));
  chmodSync(join(bin, 'docker'), 0o755);
  symlinkSync(FAKE_COSIGN, join(bin, 'cosign'));
  const env = { PATH: `${bin}:${process.env.PATH ?? ''}`, FAKE_COSIGN_LOG: log, FAKE_COSIGN_MADE: made, REGISTRY_TOOL: 'imagetools' };
  return {
    root,
    bin,
    make: (args: string[], extra: Record<string, string> = {}) => runMake(root, ['-f', 'generated/images.mk', `REGISTRY=${REGISTRY}`, ...args], { ...env, ...extra }),
    calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

const linuxBuild = (calls: string[], image: string, key: string) => calls.filter((c) => c.startsWith('docker buildx build ') && c.includes(` -t ${REGISTRY}/${image}:`) && c.includes(`-${key} `));

describe('SIGN=1 push of a two-platform Linux image and the Windows fixture, with stand-ins on PATH', () => {
  const w = world('kubernetes');
  const r = w.make(['SIGN=1', 'COSIGN_KEY=/keys/cosign.key', 'SOURCE_DATE_EPOCH=1700000000', 'push-httpd', 'push-busybox']);
  const calls = w.calls();
  const at = (re: RegExp) => calls.findIndex((c) => re.test(c));

  it('succeeds', () => {
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('builds Linux with SBOM and provenance, OCI media types, SOURCE_DATE_EPOCH, created and base.name', () => {
    for (const [image, key, base] of [
      ['httpd', 'linux-amd64', 'httpd:2.4.38-alpine'],
      ['httpd', 'linux-arm64', 'arm64v8/httpd:2.4.38-alpine'],
      ['busybox', 'linux-amd64', 'registry.k8s.io/build-image/debian-base:bookworm-v1.0.4'],
      ['busybox', 'linux-arm64', 'registry.k8s.io/build-image/debian-base-arm64:bookworm-v1.0.4'],
    ] as const) {
      const builds = linuxBuild(calls, image, key);
      expect(builds, `${image} ${key}`).toHaveLength(1);
      const b = builds[0]!;
      expect(b).toMatch(/^docker buildx build --sbom=true --provenance=mode=max --output=type=registry,oci-mediatypes=true --platform linux\//);
      expect(b).toContain(' --label org.opencontainers.image.created=2023-11-14T22:13:20Z ');
      expect(b).toContain(' --build-arg SOURCE_DATE_EPOCH=1700000000 ');
      expect(b).toContain(` --label org.opencontainers.image.base.name=${base} `);
      expect(b).toContain(' --label org.opencontainers.image.version=');
      expect(b).toContain(' --label dev.mkimages.content=');
    }
  });

  it('builds Windows (and the Linux helper that serves one Windows version) with both attestations off', () => {
    for (const v of ['ltsc2019', 'ltsc2022']) {
      const win = linuxBuild(calls, 'busybox', `windows-amd64-${v}`);
      expect(win, v).toHaveLength(1);
      expect(win[0]).toMatch(/^docker buildx build --provenance=false --sbom=false --output=type=registry --platform windows\/amd64 /);
      expect(win[0]).toContain(' --label org.opencontainers.image.created=2023-11-14T22:13:20Z ');
      const helper = linuxBuild(calls, 'windows-servercore-cache', `linux-amd64-${v}`);
      expect(helper, v).toHaveLength(1);
      expect(helper[0]).toMatch(/^docker buildx build --provenance=false --sbom=false --output=type=registry,oci-mediatypes=true --platform linux\/amd64 /);
    }
    expect(calls.filter((c) => c.includes('--sbom=true') && c.includes('--platform windows/'))).toEqual([]);
  });

  it('makes every list with imagetools create, never docker manifest create, with index annotations', () => {
    expect(calls.filter((c) => / manifest (create|annotate|push) /.test(c))).toEqual([]);
    for (const [image, tag] of [
      ['httpd', '2.4.38-4'],
      ['busybox', '1.36.1-1'],
      ['windows-servercore-cache', '1.0'],
    ]) {
      const list = calls.find((c) => c.startsWith(`docker buildx imagetools create -t ${REGISTRY}/${image}:${tag} `));
      expect(list, image).toBeDefined();
      expect(list).toContain(` --annotation index:org.opencontainers.image.version=${tag} `);
      expect(list).toContain(' --annotation index:org.opencontainers.image.created=2023-11-14T22:13:20Z ');
    }
    // busybox's list holds all four platforms; the helper's entries carry their os.version as descriptors.
    const busybox = calls.find((c) => c.startsWith(`docker buildx imagetools create -t ${REGISTRY}/busybox:1.36.1-1 `))!;
    for (const k of ['linux-amd64', 'linux-arm64']) expect(busybox).toContain(` ${REGISTRY}/busybox:1.36.1-1-${k} `);
    // imagetools keeps no os.version of its own: each Windows entry is a descriptor with its full os.version.
    expect(busybox).toMatch(/ \{"digest":"sha256:[0-9a-f]{64}","platform":\{"os":"windows","architecture":"amd64","os\.version":"10\.0\.17763\.\d+"\}\} /);
    expect(busybox).toMatch(/ \{"digest":"sha256:[0-9a-f]{64}","platform":\{"os":"windows","architecture":"amd64","os\.version":"10\.0\.20348\.\d+"\}\}$/);
    const helper = calls.find((c) => c.startsWith(`docker buildx imagetools create -t ${REGISTRY}/windows-servercore-cache:1.0 `))!;
    expect(helper).toMatch(/\{"digest":"sha256:[0-9a-f]{64}","platform":\{"os":"linux","architecture":"amd64","os\.version":"10\.0\.17763\.\d+"\}\}/);
    expect(helper).toMatch(/\{"digest":"sha256:[0-9a-f]{64}","platform":\{"os":"linux","architecture":"amd64","os\.version":"10\.0\.20348\.\d+"\}\}/);
  });

  it('signs each list by digest after it is published, and :H (the same digest) is not signed twice', () => {
    const digest = /@sha256:[0-9a-f]{64}'$/;
    for (const [image, tag] of [
      ['httpd', '2.4.38-4'],
      ['busybox', '1.36.1-1'],
    ]) {
      const list = at(new RegExp(`^docker buildx imagetools create -t ${REGISTRY}/${image}:${tag} `.replace(/\./g, '\\.')));
      const signs = calls.map((c, i) => [c, i] as const).filter(([c]) => c.startsWith('cosign ') && c.includes(`'${REGISTRY}/${image}@sha256:`));
      expect(signs, image).toHaveLength(1);
      const [sign, i] = signs[0]!;
      expect(sign).toMatch(/^cosign 'sign' '--yes' '--key' '\/keys\/cosign\.key' '--allow-insecure-registry' '--allow-http-registry' /);
      expect(sign).toMatch(digest);
      expect(i).toBeGreaterThan(list);
      // The digest was read from the registry (the stand-in) after the list was made.
      const read = calls.findIndex((c, j) => j > list && j < i && c === `docker buildx imagetools inspect --raw ${REGISTRY}/${image}:${tag}`);
      expect(read).toBeGreaterThan(list);
      // :H is made after the signature, and found signed.
      expect(at(new RegExp(`^docker buildx imagetools create -t ${REGISTRY}/${image}:[0-9a-f]{16} ${REGISTRY}/${image}:${tag}$`.replace(/\./g, '\\.')))).toBeGreaterThan(i);
    }
    const already = r.stdout.split('\n').filter((l) => l.includes('is signed already'));
    expect(already.map((l) => l.replace(/[0-9a-f]{64}/g, 'D').replace(/:[0-9a-f]{16} /, ':H '))).toEqual(
      ['httpd', 'windows-servercore-cache', 'busybox'].map((i) => `>> ${REGISTRY}/${i}:H (sha256:D) is signed already: ${REGISTRY}/${i}:sha256-D.sig`),
    );
  });

  it('a second push-httpd is a no-op: nothing built, listed or signed', () => {
    // The stand-in now holds httpd:H and its signature, and answers that :H carries httpd's content.
    const before = w.calls().length;
    const again = w.make(['SIGN=1', 'COSIGN_KEY=/keys/cosign.key', 'push-httpd']);
    expect(again.status, again.stderr).toBe(0);
    const more = w.calls().slice(before);
    expect(more.filter((c) => c.startsWith('cosign ') || c.startsWith('docker buildx build') || c.includes('imagetools create'))).toEqual([]);
    expect(again.stdout).toContain('httpd is up to date');
  });
});

describe('make -n: attestation flags per platform and per ATTEST', () => {
  const root = fixture('kubernetes');
  const publishLine = (lines: string[], image: string, key: string) => lines.find((l) => l.includes(' buildx build ') && l.includes(` -t ${REGISTRY}/${image}:`) && l.includes(`-${key} `));

  it('Linux publish builds carry --sbom=true --provenance=mode=max by default; local builds and Windows none', () => {
    const r = plan(root, ['push-busybox']);
    expect(r.status, r.stderr).toBe(0);
    expect(publishLine(r.lines, 'busybox', 'linux-amd64')).toContain(' buildx build --sbom=true --provenance=mode=max --output=type=registry,oci-mediatypes=true --platform linux/amd64 ');
    expect(publishLine(r.lines, 'busybox', 'windows-amd64-ltsc2022')).toContain(' buildx build --provenance=false --sbom=false --output=type=registry --platform windows/amd64 ');
    const local = plan(root, ['build-httpd', 'HOST_ARCH=amd64']);
    expect(local.lines.find((l) => l.includes(' buildx build '))).toContain(' buildx build --provenance=false --sbom=false --load --platform linux/amd64 ');
  });

  it('ATTEST= turns both off, ATTEST=provenance keeps provenance alone, SBOM_GENERATOR names the scanner', () => {
    const line = (...args: string[]) => publishLine(plan(root, ['push-httpd', ...args]).lines, 'httpd', 'linux-amd64') ?? '';
    expect(line('ATTEST=')).toContain(' buildx build --provenance=false --sbom=false --output=');
    expect(line('ATTEST=')).not.toContain('attest-failed');
    expect(line('ATTEST=provenance')).toContain(' buildx build --sbom=false --provenance=mode=max --output=');
    expect(line('ATTEST=sbom')).toContain(' buildx build --sbom=true --provenance=false --output=');
    const mirrored = line('SBOM_GENERATOR=mirror.example:5000/docker/buildkit-syft-scanner:stable-1');
    expect(mirrored).toContain(' buildx build --attest type=sbom,generator=mirror.example:5000/docker/buildkit-syft-scanner:stable-1 --provenance=mode=max --output=');
    // The diagnosis after a failed build: its line holds one docker command,
    // and the helper finds the client, builder and scanner in the environment.
    expect(mirrored).toMatch(/ images\/httpd \|\| sh generated\/mkimages\.sh attest-failed httpd linux-amd64$/);
    const envMk = join(tempDir('mkimages-env-'), 'env.mk');
    writeFileSync(envMk, 'print-env: ; @echo "$$MKIMAGES_DOCKER|$$MKIMAGES_BUILDX_BUILDER|$$MKIMAGES_SBOM_SCANNER"\n');
    const printed = (...args: string[]) => runMake(root, ['-f', 'generated/images.mk', '-f', envMk, `DOCKER=${FAKE_DOCKER}`, ...args, 'print-env']).stdout.trim();
    expect(printed('SBOM_GENERATOR=mirror.example:5000/s:1', 'BUILDX_BUILDER=fleet')).toBe(`${FAKE_DOCKER}|fleet|mirror.example:5000/s:1`);
    expect(printed()).toBe(`${FAKE_DOCKER}||docker.io/docker/buildkit-syft-scanner:stable-1`);
    // Without an SBOM the diagnosis names no scanner.
    expect(printed('ATTEST=provenance')).toBe(`${FAKE_DOCKER}||`);
    const bad = plan(root, ['push-httpd', 'ATTEST=provenance sbom slsa']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('ATTEST=provenance sbom slsa: expected sbom, provenance, both');
  });

  it('the classic builder and podman keep their own tools, with no attestations', () => {
    const classic = plan(root, ['push-httpd'], {}, false);
    expect(classic.status, classic.stderr).toBe(0);
    expect(classic.stdout).toContain('BUILDX_NO_DEFAULT_ATTESTATIONS=1');
    expect(classic.stdout).not.toMatch(/--sbom|--provenance|--attest|attest-failed/);
    expect(classic.stdout).toContain(' manifest create --insecure ');
    const podman = plan(root, ['push-httpd', 'BUILDER=podman']);
    expect(podman.status, podman.stderr).toBe(0);
    expect(podman.stdout).not.toMatch(/--sbom|--provenance|--attest|imagetools create/);
    expect(podman.stdout).toMatch(/ manifest push --all /);
  });

  it('a remote Windows engine builds with its own docker build, and the list is still made by imagetools', () => {
    const r = plan(root, ['push-busybox', 'REMOTE_DOCKER_URL_ltsc2022=tcp://win2022:2376']);
    expect(r.status, r.stderr).toBe(0);
    const remote = r.lines.find((l) => l.includes('--host tcp://win2022:2376') && l.includes(' build '))!;
    expect(remote).not.toMatch(/--sbom|--provenance|--attest/);
    expect(r.stdout).toContain(`buildx imagetools create -t ${REGISTRY}/busybox:1.36.1-1 `);
    expect(r.stdout).not.toContain(' manifest create ');
  });
});

describe('index annotations and labels from image.yaml', () => {
  it('title, description, licenses and url become labels and index annotations, quoted; base.name when the platforms share it', () => {
    const root = makeTree(
      {
        'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64, linux/arm64]\n',
        'images/app/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\n',
        'images/app/BASEIMAGE': 'linux/amd64=example.com/base:1\nlinux/arm64=example.com/base:1\n',
        'images/app/VERSION': '1.0\n',
        'images/app/image.yaml': [
          'labels:',
          `  org.opencontainers.image.title: "App's $(shell touch CANARY) \`id\` #1"`,
          '  org.opencontainers.image.licenses: Apache-2.0',
          '  org.opencontainers.image.url: https://example.com/app?a=1&b=2',
          '',
        ].join('\n'),
      },
      'mkimages-supply-',
    );
    temps.push(root);
    expect(runCli(root).status).toBe(0);
    const r = plan(root, ['push-app', 'SOURCE_DATE_EPOCH=0']);
    expect(r.status, r.stderr).toBe(0);
    const list = r.lines.find((l) => l.includes(' imagetools create -t '))!;
    expect(list).toContain(" --annotation 'index:org.opencontainers.image.title=App'\\''s $(shell touch CANARY) `id` #1'");
    expect(list).toContain(" --annotation 'index:org.opencontainers.image.licenses=Apache-2.0'");
    expect(list).toContain(" --annotation 'index:org.opencontainers.image.url=https://example.com/app?a=1&b=2'");
    expect(list).toContain(" --annotation 'index:org.opencontainers.image.base.name=example.com/base:1'");
    expect(list).toContain(' --annotation index:org.opencontainers.image.created=1970-01-01T00:00:00Z ');
    const build = r.lines.find((l) => l.includes(' buildx build ') && l.includes('--platform linux/arm64'))!;
    expect(build).toContain(" --label 'org.opencontainers.image.base.name=example.com/base:1'");
    expect(build).toContain(" --label 'org.opencontainers.image.title=App'\\''s $(shell touch CANARY) `id` #1'");
  });
});

describe('index annotations and labels from image.yaml title, description, licenses and url', () => {
  it('each becomes a label of every build and an index annotation of the list, quoted', () => {
    const values: Array<[string, string, string]> = [
      ['title', 'org.opencontainers.image.title', "Tool's \\$HOME $(shell touch CANARY) `id` #1; a|b"],
      ['description', 'org.opencontainers.image.description', 'Lists things, "quoted" & more %s'],
      ['licenses', 'org.opencontainers.image.licenses', 'Apache-2.0 OR MIT'],
      ['url', 'org.opencontainers.image.url', 'https://example.com/tool?a=1&b=$x'],
    ];
    const root = makeTree(
      {
        'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64, linux/arm64]\n',
        'images/tool/Dockerfile': 'FROM scratch\n',
        'images/tool/image.yaml': stringify({ version: '2.0', ...Object.fromEntries(values.map(([f, , v]) => [f, v])) }),
      },
      'mkimages-supply-',
    );
    temps.push(root);
    const gen = runCli(root);
    expect(gen.status, gen.stderr).toBe(0);
    const r = plan(root, ['push-tool', 'SOURCE_DATE_EPOCH=86400']);
    expect(r.status, r.stderr).toBe(0);
    const sh = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
    const list = r.lines.find((l) => l.includes(' imagetools create -t '))!;
    for (const [, k, v] of values) expect(list).toContain(` --annotation ${sh(`index:${k}=${v}`)}`);
    expect(list).toContain(' --annotation index:org.opencontainers.image.created=1970-01-02T00:00:00Z ');
    const builds = r.lines.filter((l) => l.includes(' buildx build '));
    expect(builds).toHaveLength(2);
    for (const b of builds) for (const [, k, v] of values) expect(b).toContain(` --label ${sh(`${k}=${v}`)}`);
  });
});

describe('signing and verifying, planned', () => {
  const root = fixture('lifecycle');

  it('COSIGN_OFFLINE=1 signs with --tlog-upload=false; keyless has no --key; verify-N uses the .pub or the identity', () => {
    const offline = plan(root, ['push-app', 'SIGN=1', 'COSIGN=/bin/true', 'COSIGN_KEY=k8s://ns/key', 'COSIGN_OFFLINE=1']);
    expect(offline.status, offline.stderr).toBe(0);
    expect(offline.stdout).toContain(`sh generated/mkimages.sh sign imagetools '${FAKE_DOCKER}' ${REGISTRY}/app:1.0 -- /bin/true sign --yes --key k8s://ns/key --tlog-upload=false --allow-insecure-registry --allow-http-registry`);
    const keyless = plan(root, ['push-app', 'SIGN=1', 'COSIGN=/bin/true', `REGISTRY=ghcr.io/example`]);
    expect(keyless.stdout).toMatch(/ -- \/bin\/true sign --yes$/m);
    const verify = plan(root, ['verify-app', 'COSIGN=/bin/true', 'COSIGN_KEY=/keys/cosign.key', 'COSIGN_OFFLINE=1']);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(new RegExp(`^sh generated/mkimages\\.sh verify imagetools '[^']+' ${REGISTRY}/app:1\\.0 ${REGISTRY}/app:[0-9a-f]{16} -- /bin/true verify --key /keys/cosign\\.pub --insecure-ignore-tlog=true --allow-insecure-registry --allow-http-registry$`, 'm'));
    const identity = plan(root, ['verify-app', 'COSIGN=/bin/true', 'COSIGN_IDENTITY=https://github.com/example/repo/.github/workflows/release.yaml@refs/heads/main', 'COSIGN_ISSUER=https://token.actions.githubusercontent.com', 'REGISTRY=ghcr.io/example']);
    expect(identity.stdout).toContain(' -- /bin/true verify --certificate-identity https://github.com/example/repo/.github/workflows/release.yaml@refs/heads/main --certificate-oidc-issuer https://token.actions.githubusercontent.com\n');
    const none = plan(root, ['verify-app', 'COSIGN=/bin/true']);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain('verify-N needs COSIGN_KEY (or COSIGN_PUBLIC_KEY), or COSIGN_IDENTITY and COSIGN_ISSUER');
  });

  it('a missing cosign is one line naming it, before anything runs', () => {
    for (const args of [['push-app', 'SIGN=1'], ['verify-app', 'COSIGN_KEY=k.key'], ['mirror-dockerhub/busybox', 'SIGN=1']]) {
      const r = plan(root, [...args, 'COSIGN=/nonexistent/cosign']);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^generated\/images\.mk:\d+: \*\*\* mkimages: \S+ needs cosign, and '\/nonexistent\/cosign' is not installed \(or not on PATH\): install cosign 2 .*\.  Stop\.$/)]);
      expect(r.stdout).toBe('');
    }
    // Without SIGN, cosign is not needed.
    expect(plan(root, ['push-app', 'COSIGN=/nonexistent/cosign']).status).toBe(0);
    const bad = plan(root, ['push-app', 'SIGN=yes']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('SIGN=yes: use SIGN=1');
  });

  it('adopt-N signs the :H it publishes, after the copy', () => {
    const dir = tempDir('mkimages-supply-');
    writeFileSync(join(dir, 'published'), `${REGISTRY}/app:1.0\n`);
    writeFileSync(join(dir, 'labels'), `${REGISTRY}/app:1.0 -\n`);
    const r = plan(root, ['adopt-app', 'SIGN=1', 'COSIGN=/bin/true'], { FAKE_DOCKER_PUBLISHED: join(dir, 'published'), FAKE_DOCKER_LABELS: join(dir, 'labels') });
    expect(r.status, r.stderr).toBe(0);
    const copy = r.lines.findIndex((l) => new RegExp(`mkimages\\.sh copy imagetools \\S+ ${REGISTRY}/app:1\\.0 ${REGISTRY}/app:[0-9a-f]{16}$`).test(l));
    const sign = r.lines.findIndex((l) => new RegExp(`mkimages\\.sh sign imagetools \\S+ ${REGISTRY}/app:[0-9a-f]{16} -- /bin/true sign --yes`).test(l));
    expect(copy).toBeGreaterThanOrEqual(0);
    expect(sign).toBeGreaterThan(copy);
    expect(plan(root, ['adopt-app', 'COSIGN=/bin/true'], { FAKE_DOCKER_PUBLISHED: join(dir, 'published'), FAKE_DOCKER_LABELS: join(dir, 'labels') }).stdout).not.toContain('mkimages.sh sign');
  });

  it('promote: false mirrors are never signed; promoted mirrors are, after the copy', () => {
    const r = plan(root, ['push-all-images', 'SIGN=1', 'COSIGN=/bin/true']);
    expect(r.status, r.stderr).toBe(0);
    // lifecycle's dockerhub/busybox mirror has promote: false.
    expect(r.stdout).toContain(`copy imagetools '${FAKE_DOCKER}' docker.io/library/busybox:1.29 ${REGISTRY}/dockerhub/busybox:1.29`);
    expect(r.stdout).not.toMatch(/mkimages\.sh sign \S+ '[^']+' \S+\/dockerhub\/busybox:/);
    const promoted = makeTree({ 'images/up/image.yaml': 'mirror: docker.io/library/alpine:3.20\n' }, 'mkimages-supply-');
    temps.push(promoted);
    expect(runCli(promoted).status).toBe(0);
    const m = plan(promoted, ['mirror-up', 'SIGN=1', 'COSIGN=/bin/true']);
    expect(m.status, m.stderr).toBe(0);
    const copy = m.lines.findIndex((l) => l.includes('mkimages.sh copy '));
    const sign = m.lines.findIndex((l) => l.includes(`mkimages.sh sign imagetools '${FAKE_DOCKER}' ${REGISTRY}/up:3.20 -- /bin/true sign --yes`));
    expect(copy).toBeGreaterThanOrEqual(0);
    expect(sign).toBeGreaterThan(copy);
  });

  it('a published image without a signature gets one with SIGN=1 (and only then); a signed one is left alone', () => {
    const dir = tempDir('mkimages-supply-');
    const json = JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as { images: Array<{ name: string; hash: string }> };
    const H = json.images.find((i) => i.name === 'app')!.hash;
    writeFileSync(join(dir, 'published'), `${REGISTRY}/app:${H}\n${REGISTRY}/app:1.0\n`);
    const env = { FAKE_DOCKER_PUBLISHED: join(dir, 'published') };
    const unsigned = plan(root, ['push-app', 'SIGN=1', 'COSIGN=/bin/true'], env);
    expect(unsigned.status, unsigned.stderr).toBe(0);
    expect(unsigned.lines.filter((l) => l.includes(' buildx build ') || l.includes('imagetools create'))).toEqual([]);
    expect(unsigned.stdout).toContain(`mkimages.sh sign imagetools '${FAKE_DOCKER}' ${REGISTRY}/app:${H} -- /bin/true sign --yes`);
    expect(plan(root, ['push-app'], env).stdout).not.toContain('mkimages.sh sign');
    // Signed: fake-docker serves every published manifest as `{"schemaVersion": 2}` and a newline,
    // so that is the digest whose signature tag cosign would have written.
    const digest = createHash('sha256').update('{"schemaVersion": 2}\n').digest('hex');
    writeFileSync(join(dir, 'published'), `${REGISTRY}/app:${H}\n${REGISTRY}/app:1.0\n${REGISTRY}/app:sha256-${digest}.sig\n`);
    const signed = plan(root, ['push-app', 'SIGN=1', 'COSIGN=/bin/true'], env);
    expect(signed.status, signed.stderr).toBe(0);
    expect(signed.stdout).not.toContain('mkimages.sh sign');
    expect(signed.stdout).toContain('app is up to date');
  });
});
