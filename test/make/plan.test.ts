// GNU make on the golden Makefiles: every golden parses, and plans the
// commands expected of it. A recording stand-in for docker answers the few
// questions make asks (buildx present? which images are local?).

import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAKE_DOCKER, PROJECT_ROOT, runMake } from '../support/tree.js';

const fixture = (name: string) => join(PROJECT_ROOT, 'test/fixtures', name);

function plan(name: string, args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mkimages-plan-'));
  const log = join(dir, 'docker.log');
  writeFileSync(log, '');
  const r = runMake(fixture(name), ['-f', 'generated/images.mk', '-n', `DOCKER=${FAKE_DOCKER}`, 'REGISTRY=127.0.0.1:5000/e2e', ...args], {
    FAKE_DOCKER_LOG: log,
    ...env,
  });
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  rmSync(dir, { recursive: true, force: true });
  return { ...r, lines: r.stdout.split('\n'), calls };
}

/** A temporary folder removed after the tests of this file. */
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

const index = (lines: string[], re: RegExp) => lines.findIndex((l) => re.test(l));

describe('make -n on the goldens', () => {
  it.each(['kubernetes', 'gvisor', 'metadata'])('%s: plans build-all-images, push-all-images and load-all-images', (name) => {
    for (const target of ['build-all-images', 'push-all-images', 'load-all-images', 'list-all-images']) {
      const r = plan(name, [target]);
      expect(r.stderr, `${name} ${target}`).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it('builds parents before children for the host platform, with the classic builder', () => {
    const r = plan('kubernetes', ['build-kitten', 'HOST_ARCH=amd64']);
    expect(r.status).toBe(0);
    const builds = r.lines.filter((l) => l.includes(' build --platform'));
    expect(builds.map((l) => /-f (\S+)/.exec(l)?.[1])).toEqual(['images/busybox/Dockerfile', 'images/agnhost/Dockerfile', 'images/kitten/Dockerfile']);
    expect(builds.every((l) => l.includes(`DOCKER_BUILDKIT=1 ${FAKE_DOCKER} build --platform linux/amd64 `))).toBe(true);
    const kitten = builds[2];
    expect(kitten).toContain("--build-arg 'BASEIMAGE=127.0.0.1:5000/e2e/agnhost:2.52-linux-amd64'");
    expect(kitten).toContain('--build-arg REGISTRY=127.0.0.1:5000/e2e');
    expect(kitten).toContain('--label org.opencontainers.image.version=1.7');
    expect(kitten).toMatch(/-t mkimages\.local\/kitten:[0-9a-f]{16}-linux-amd64 -t 127\.0\.0\.1:5000\/e2e\/kitten:1\.7-linux-amd64/);
    expect(r.calls).toContain("'image' 'ls' '--format' '{{.Repository}}:{{.Tag}}@{{.ID}}'");
  });

  it('selects platforms with PLATFORMS and with OS/ARCH', () => {
    const p = plan('kubernetes', ['build-httpd', 'PLATFORMS=linux/arm64']);
    expect(p.lines.filter((l) => l.includes(' build --platform')).map((l) => /--platform (\S+)/.exec(l)?.[1])).toEqual(['linux/arm64']);
    const both = plan('kubernetes', ['build-httpd', 'PLATFORMS=linux/amd64,linux/arm64']);
    expect(both.lines.filter((l) => l.includes(' build --platform')).length).toBe(2);
    const k = plan('kubernetes', ['build-httpd', 'ARCH=arm64']);
    expect(k.lines.filter((l) => l.includes(' build --platform')).map((l) => /--platform (\S+)/.exec(l)?.[1])).toEqual(['linux/arm64']);
  });

  it('uses Dockerfile.<arch> per architecture (gVisor style)', () => {
    const r = plan('gvisor', ['build-runtimes/python-linux-amd64', 'build-runtimes/python-linux-arm64']);
    expect(r.lines.filter((l) => l.includes(' build --platform')).map((l) => /-f (\S+)/.exec(l)?.[1])).toEqual([
      'images/runtimes/python/Dockerfile.x86_64',
      'images/runtimes/python/Dockerfile.aarch64',
    ]);
    expect(r.lines.join('\n')).toContain('gvisor.dev/images/runtimes/python:');
  });

  it('pushes every platform, then the manifest list :TAG and the content tag :H (classic)', () => {
    const r = plan('kubernetes', ['push-httpd']);
    const text = r.lines.join('\n');
    expect(text).toContain('manifest inspect --insecure 127.0.0.1:5000/e2e/httpd:');
    expect(text).toMatch(/push 127\.0\.0\.1:5000\/e2e\/httpd:2\.4\.38-4-linux-amd64/);
    expect(text).toMatch(/push 127\.0\.0\.1:5000\/e2e\/httpd:2\.4\.38-4-linux-arm64/);
    expect(text).toContain('manifest create --insecure 127.0.0.1:5000/e2e/httpd:2.4.38-4 127.0.0.1:5000/e2e/httpd:2.4.38-4-linux-amd64 127.0.0.1:5000/e2e/httpd:2.4.38-4-linux-arm64');
    expect(text).toMatch(/manifest create --insecure 127\.0\.0\.1:5000\/e2e\/httpd:[0-9a-f]{16} 127\.0\.0\.1:5000\/e2e\/httpd:2\.4\.38-4-linux-amd64/);
    expect(text).toContain('manifest push --purge --insecure 127.0.0.1:5000/e2e/httpd:2.4.38-4');
    // The parent is pushed before the child that names it in BASEIMAGE.
    const k = plan('kubernetes', ['push-kitten']).lines;
    expect(index(k, /pushing busybox/)).toBeLessThan(index(k, /pushing agnhost/));
    expect(index(k, /pushing agnhost/)).toBeLessThan(index(k, /pushing kitten/));
  });

  it('with buildx, pushes Linux with --push and Windows into the registry, annotated with os.version', () => {
    const r = plan('kubernetes', ['push-busybox'], { FAKE_DOCKER_BUILDX: '1' });
    const text = r.lines.join('\n');
    expect(text).toMatch(/buildx build --provenance=false --sbom=false --platform linux\/amd64 -f images\/busybox\/Dockerfile .* -t 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-linux-amd64 --push/);
    expect(text).toMatch(
      /buildx build --provenance=false --sbom=false --platform windows\/amd64 -f images\/busybox\/Dockerfile_windows .*--build-arg OS_VERSION=ltsc2022 .* -t 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-windows-amd64-ltsc2022 --output=type=registry/,
    );
    // os.version: read from the base image's manifest, else the table (the stand-in has no manifest for it).
    expect(text).toMatch(
      /manifest annotate --os windows --arch amd64 --os-version "\$\(\S+ manifest inspect --verbose mcr\.microsoft\.com\/windows\/nanoserver:ltsc2022 .*\|\| echo 10\.0\.20348\.2966\)" 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-windows-amd64-ltsc2022/,
    );
    // The Linux-cache helper is pushed first.
    expect(index(r.lines, /pushing windows-servercore-cache/)).toBeLessThan(index(r.lines, /pushing busybox/));
  });

  it('without buildx, skips Windows with a notice and leaves it out of the list', () => {
    const text = plan('kubernetes', ['push-busybox']).lines.join('\n');
    expect(text).toContain('busybox (windows-amd64-ltsc2022): skipped: a Windows image needs buildx or REMOTE_DOCKER_URL_ltsc2022; left out of the manifest list');
    expect(text).toContain('manifest create --insecure 127.0.0.1:5000/e2e/busybox:1.36.1-1 127.0.0.1:5000/e2e/busybox:1.36.1-1-linux-amd64 127.0.0.1:5000/e2e/busybox:1.36.1-1-linux-arm64 &&');
  });

  it('plans nothing for images already present or published', () => {
    const dir = tempDir('mkimages-plan-');
    const json = JSON.parse(readFileSync(join(fixture('kubernetes'), 'generated/images.json'), 'utf8')) as { images: Array<{ name: string; hash: string; publishedName: string }> };
    const httpd = json.images.find((i) => i.name === 'httpd')!;
    const images = join(dir, 'images');
    writeFileSync(images, [`mkimages.local/httpd:${httpd.hash}-linux-amd64@sha256:aaa`, '127.0.0.1:5000/e2e/httpd:2.4.38-4-linux-amd64@sha256:aaa', '127.0.0.1:5000/e2e/httpd:2.4.38-4@sha256:aaa', `mkimages.local/httpd:${httpd.hash}@sha256:aaa`, 'mkimages.local/httpd:latest@sha256:aaa'].join('\n'));
    const r = plan('kubernetes', ['build-httpd', 'HOST_ARCH=amd64'], { FAKE_DOCKER_IMAGES: images });
    expect(r.lines.filter((l) => /\bbuild\b|\btag\b/.test(l) && !l.startsWith('echo') && !l.startsWith('make:'))).toEqual([]);
    expect(r.lines.join('\n')).toContain('is up to date');
  });

  it('builds an image that is absent while others are present', () => {
    const dir = tempDir('mkimages-plan-');
    const images = join(dir, 'images');
    writeFileSync(images, ['mkimages.local/other:0123456789abcdef-linux-amd64@sha256:bbb', '<none>:<none>@sha256:ccc'].join('\n'));
    const r = plan('kubernetes', ['build-httpd', 'HOST_ARCH=amd64'], { FAKE_DOCKER_IMAGES: images });
    expect(r.lines.filter((l) => l.includes(' build --platform linux/amd64 -f images/httpd/Dockerfile'))).toHaveLength(1);
  });

  it('lists every published reference, one a line', () => {
    const r = plan('kubernetes', ['list-all-images']);
    expect(r.stdout.trim().split('\n').filter((l) => !l.startsWith('printf'))).toEqual([]);
    const real = runMake(fixture('kubernetes'), ['-s', '-f', 'generated/images.mk', 'list-all-images', 'REGISTRY=127.0.0.1:5000/e2e']);
    expect(real.stdout.trim().split('\n')).toEqual([
      '127.0.0.1:5000/e2e/agnhost:2.52',
      '127.0.0.1:5000/e2e/busybox:1.36.1-1',
      expect.stringMatching(/^127\.0\.0\.1:5000\/e2e\/e2e\/mounttest:[0-9a-f]{16}$/),
      '127.0.0.1:5000/e2e/httpd:2.4.38-4',
      '127.0.0.1:5000/e2e/httpd:2.4.39-4',
      '127.0.0.1:5000/e2e/kitten:1.7',
      '127.0.0.1:5000/e2e/windows-servercore-cache:1.0',
    ]);
  });
});

describe('make -n: Windows engines, caches, builders', () => {
  it('builds and pushes a Windows version on its remote engine over TLS; only it joins the list', () => {
    const r = plan('kubernetes', ['push-busybox', 'REMOTE_DOCKER_URL_ltsc2022=tcp://win2022:2376', 'DOCKER_CERT_BASE_PATH=/certs', 'WINDOWS_ISOLATION=hyperv']);
    const text = r.lines.join('\n');
    const remote = `${FAKE_DOCKER} --host tcp://win2022:2376 --tlsverify --tlscacert /certs/.docker-ltsc2022/ca.pem --tlscert /certs/.docker-ltsc2022/cert.pem --tlskey /certs/.docker-ltsc2022/key.pem`;
    expect(text).toContain(`${remote} build --isolation=hyperv -f images/busybox/Dockerfile_windows`);
    expect(text).toMatch(/--build-arg OS_VERSION=ltsc2022 .*-t 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-windows-amd64-ltsc2022 images\/busybox/);
    expect(text).toContain(`${remote} push 127.0.0.1:5000/e2e/busybox:1.36.1-1-windows-amd64-ltsc2022`);
    expect(text).toContain('busybox (windows-amd64-ltsc2019): skipped');
    const create = /manifest create --insecure 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1 [^&]*/.exec(text)![0];
    expect(create).toContain('busybox:1.36.1-1-windows-amd64-ltsc2022');
    expect(create).not.toContain('ltsc2019');
  });

  it('passes a named builder and registry caches to buildx, and pushes parents first for a builder that cannot see the engine', () => {
    const r = plan('kubernetes', ['build-kitten', 'HOST_ARCH=amd64', 'BUILDX_BUILDER=fleet', 'CACHE_REGISTRY=cache.local:5000/c'], { FAKE_DOCKER_BUILDX: '1' });
    const text = r.lines.join('\n');
    expect(text).toContain(
      'buildx build --builder fleet --provenance=false --sbom=false --cache-from type=registry,ref=cache.local:5000/c/kitten:cache-linux-amd64 --cache-to type=registry,ref=cache.local:5000/c/kitten:cache-linux-amd64,mode=max --platform linux/amd64 -f images/kitten/Dockerfile',
    );
    expect(index(r.lines, /pushing agnhost/)).toBeGreaterThanOrEqual(0);
    expect(index(r.lines, /pushing agnhost/)).toBeLessThan(index(r.lines, /building kitten/));
  });
});

describe('make -n: Kubernetes bin step, emulation, mirrors, bundles, immutable versions', () => {
  it('stages a copy of the context, rewrites BASEARCH, drops CROSS_BUILD_ lines and runs the bin step there', () => {
    const r = plan('lifecycle', ['build-echoserver-linux-arm64', 'HOST_ARCH=arm64']);
    const line = r.lines.find((l) => l.includes('cp -a'))!;
    expect(line).toContain('rm -rf _output/stage/echoserver/linux-arm64 && mkdir -p _output/stage/echoserver/linux-arm64 && cp -a images/echoserver/. _output/stage/echoserver/linux-arm64/');
    expect(line).toContain("sed -i -e 's/BASEARCH/arm64/g' -e '/CROSS_BUILD_/d' _output/stage/echoserver/linux-arm64/Dockerfile");
    expect(line).toMatch(/make -C images\/echoserver bin OS=linux ARCH=arm64 TARGET=\/\S+\/test\/fixtures\/lifecycle\/_output\/stage\/echoserver\/linux-arm64/);
    expect(line).toContain('-f _output/stage/echoserver/linux-arm64/Dockerfile');
    expect(line).toMatch(/ _output\/stage\/echoserver\/linux-arm64$/);
  });

  it('checks for QEMU before RUN steps of a foreign architecture, and only then', () => {
    const foreign = plan('lifecycle', ['build-runner-linux-arm64', 'HOST_ARCH=amd64']).lines.join('\n');
    expect(foreign).toContain("grep -qx 'qemu-aarch64'");
    expect(foreign).toContain('need QEMU emulation');
    expect(plan('lifecycle', ['build-runner-linux-amd64', 'HOST_ARCH=amd64']).lines.join('\n')).not.toContain('qemu-');
    expect(plan('lifecycle', ['build-app-linux-s390x', 'HOST_ARCH=amd64']).lines.join('\n')).not.toContain('qemu-');
  });

  it('mirrors an upstream image with the first tool present, and push-all-images includes it', () => {
    const r = plan('lifecycle', ['mirror-dockerhub/busybox', 'MIRROR_TOOL=skopeo']);
    expect(r.lines.join('\n')).toContain('skopeo copy --all --preserve-digests --dest-tls-verify=false docker://docker.io/library/busybox:1.29 docker://127.0.0.1:5000/e2e/dockerhub/busybox:1.29');
    const c = plan('lifecycle', ['mirror-dockerhub/busybox', 'MIRROR_TOOL=crane']);
    expect(c.lines.join('\n')).toContain('crane copy --insecure docker.io/library/busybox:1.29 127.0.0.1:5000/e2e/dockerhub/busybox:1.29');
    const x = plan('lifecycle', ['mirror-dockerhub/busybox'], { FAKE_DOCKER_BUILDX: '1' });
    expect(x.lines.join('\n')).toContain('buildx imagetools create -t 127.0.0.1:5000/e2e/dockerhub/busybox:1.29 docker.io/library/busybox:1.29');
    const all = plan('lifecycle', ['push-all-images', 'MIRROR_TOOL=skopeo']);
    expect(all.lines.join('\n')).toContain('docker://127.0.0.1:5000/e2e/dockerhub/busybox:1.29');
  });

  it('copies promoted images to MIRROR_REGISTRY by tag and writes the mapping file', () => {
    const r = plan('lifecycle', ['mirror-all-images', 'MIRROR_REGISTRY=127.0.0.1:6000/disconnected', 'MIRROR_TOOL=skopeo']);
    const text = r.lines.join('\n');
    expect(text).toMatch(/for ref in app:1\.0 echoserver:2\.5 runner:[0-9a-f]{16}; do/);
    expect(text).not.toContain('dockerhub/busybox');
    expect(text).toContain('echo "127.0.0.1:5000/e2e/$ref=127.0.0.1:6000/disconnected/$ref" >> _output/mirror-mapping.txt.tmp');
    expect(text).toContain('skopeo copy --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false docker://127.0.0.1:5000/e2e/$ref docker://127.0.0.1:6000/disconnected/$ref');
    const missing = runMake(fixture('lifecycle'), ['-f', 'generated/images.mk', 'mirror-all-images']);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('set MIRROR_REGISTRY=');
  });

  it('saves every image into one bundle with canonical and published names', () => {
    const r = plan('lifecycle', ['save-all-images', 'ARCHIVE_DIR=/tmp/bundle', 'LOCAL_PREFIX=e2e.local']);
    const save = r.lines.find((l) => l.includes(' save '))!;
    expect(save).toContain('save e2e.local/app:latest 127.0.0.1:5000/e2e/app:1.0 e2e.local/dockerhub/busybox:latest 127.0.0.1:5000/e2e/dockerhub/busybox:1.29');
    expect(save).toContain('| gzip -c > /tmp/bundle/.images.tar.gz.tmp && mv /tmp/bundle/.images.tar.gz.tmp /tmp/bundle/images.tar.gz');
  });

  it('refuses to overwrite a published version with other content unless FORCE=1', () => {
    const r = plan('lifecycle', ['push-app']);
    const text = r.lines.join('\n');
    expect(text).toMatch(/elif \[ -z "" \] && \S+ manifest inspect --insecure 127\.0\.0\.1:5000\/e2e\/app:1\.0 2>\/dev\/null \| grep -q '"schemaVersion"'; then/);
    expect(text).toContain('bump the version in images/app');
    expect(plan('lifecycle', ['push-app', 'FORCE=1']).lines.join('\n')).toContain('elif [ -z "1" ]');
    // An image without VERSION is tagged by content: nothing to refuse.
    expect(plan('lifecycle', ['push-runner']).lines.find((l) => l.includes('pushing runner'))).not.toContain('elif');
  });
});

describe('make, for real, with a docker that says yes to everything and prints nothing', () => {
  it('push-busybox builds every platform (Windows through buildx, the helper first) and creates, annotates and pushes the lists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mkimages-yes-'));
    cpSync(fixture('kubernetes'), dir, { recursive: true });
    const log = join(dir, 'calls.log');
    const yes = join(dir, 'docker');
    writeFileSync(yes, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexit 0\n`);
    chmodSync(yes, 0o755);
    const r = runMake(dir, ['-f', 'generated/images.mk', 'push-busybox', `DOCKER=${yes}`, 'REGISTRY=127.0.0.1:5000/e2e']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const calls = readFileSync(log, 'utf8').split('\n');
    const at = (re: RegExp) => calls.findIndex((c) => re.test(c));
    expect(at(/^buildx build .*-t 127\.0\.0\.1:5000\/e2e\/windows-servercore-cache:1\.0-linux-amd64-ltsc2022 --push/)).toBeGreaterThanOrEqual(0);
    for (const v of ['ltsc2019', 'ltsc2022']) {
      const i = at(new RegExp(`^buildx build .*--platform windows/amd64 -f images/busybox/Dockerfile_windows .*--build-arg OS_VERSION=${v} .*-t 127\\.0\\.0\\.1:5000/e2e/busybox:1\\.36\\.1-1-windows-amd64-${v} --output=type=registry`));
      expect(i, v).toBeGreaterThan(at(/windows-servercore-cache:1\.0-linux-amd64-ltsc2022 --push/));
    }
    expect(at(/^manifest create --insecure 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1 .*windows-amd64-ltsc2019 .*windows-amd64-ltsc2022$/)).toBeGreaterThanOrEqual(0);
    expect(at(/^manifest annotate --os windows --arch amd64 --os-version 10\.0\.20348\.2966 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-windows-amd64-ltsc2022$/)).toBeGreaterThanOrEqual(0);
    expect(at(/^manifest push --purge --insecure 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1$/)).toBeGreaterThanOrEqual(0);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('the Kubernetes bin step, for real', () => {
  it('runs in a staged copy with OS, ARCH and TARGET, rewrites the Dockerfile there, and leaves the folder clean', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mkimages-bin-'));
    cpSync(fixture('lifecycle'), dir, { recursive: true });
    const log = join(dir, 'docker.log');
    writeFileSync(log, '');
    const before = readdirSync(join(dir, 'images/echoserver')).sort();
    const r = runMake(dir, ['-f', 'generated/images.mk', 'build-echoserver-linux-arm64', `DOCKER=${FAKE_DOCKER}`, 'HOST_ARCH=arm64'], { FAKE_DOCKER_LOG: log });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const stage = join(dir, '_output/stage/echoserver/linux-arm64');
    expect(readFileSync(join(stage, 'echoserver'), 'utf8')).toBe('linux/arm64\n');
    const dockerfile = readFileSync(join(stage, 'Dockerfile'), 'utf8');
    expect(dockerfile).not.toContain('CROSS_BUILD_');
    expect(dockerfile).toContain('RUN echo arm64 > /arch');
    expect(readdirSync(join(dir, 'images/echoserver')).sort()).toEqual(before);
    expect(readFileSync(log, 'utf8')).toContain(`'-f' '_output/stage/echoserver/linux-arm64/Dockerfile'`);
    rmSync(dir, { recursive: true, force: true });
  });
});
