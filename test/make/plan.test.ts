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
    expect(builds.every((l) => l.includes(`DOCKER_BUILDKIT=1 BUILDX_NO_DEFAULT_ATTESTATIONS=1 ${FAKE_DOCKER} build --platform linux/amd64 `))).toBe(true);
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
    // The registry was asked (through the stand-in's imagetools) what it holds.
    expect(r.calls.some((c) => c.startsWith("'buildx' 'imagetools' 'inspect' '127.0.0.1:5000/e2e/httpd:"))).toBe(true);
    expect(text).toMatch(/push 127\.0\.0\.1:5000\/e2e\/httpd:2\.4\.38-4-linux-amd64/);
    expect(text).toMatch(/push 127\.0\.0\.1:5000\/e2e\/httpd:2\.4\.38-4-linux-arm64/);
    expect(text).toContain('manifest create --insecure 127.0.0.1:5000/e2e/httpd:2.4.38-4 127.0.0.1:5000/e2e/httpd:2.4.38-4-linux-amd64 127.0.0.1:5000/e2e/httpd:2.4.38-4-linux-arm64');
    expect(text).toContain('manifest push --purge --insecure 127.0.0.1:5000/e2e/httpd:2.4.38-4');
    // One command a line, and the content tag last: a copy of the list.
    expect(r.lines.filter((l) => l.includes(' && ') || l.includes('; '))).toEqual([]);
    expect(index(r.lines, /mkimages\.sh copy imagetools \S+ 127\.0\.0\.1:5000\/e2e\/httpd:2\.4\.38-4 127\.0\.0\.1:5000\/e2e\/httpd:[0-9a-f]{16}$/)).toBe(r.lines.length - 3);
    // The parent is pushed before the child that names it in BASEIMAGE.
    const k = plan('kubernetes', ['push-kitten']).lines;
    expect(index(k, /building busybox \(/)).toBeLessThan(index(k, /building agnhost \(/));
    expect(index(k, /publishing the list \S+\/agnhost:/)).toBeLessThan(index(k, /building kitten \(/));
  });

  it('with buildx, pushes Linux and Windows straight into the registry, annotated with os.version', () => {
    const r = plan('kubernetes', ['push-busybox'], { FAKE_DOCKER_BUILDX: '1' });
    const text = r.lines.join('\n');
    expect(text).toMatch(/buildx build --sbom=true --provenance=mode=max --output=type=registry,oci-mediatypes=true --platform linux\/amd64 -f images\/busybox\/Dockerfile .* -t 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-linux-amd64 images\/busybox \|\| sh generated\/mkimages\.sh attest-failed .*$/m);
    expect(text).toMatch(
      /buildx build --provenance=false --sbom=false --output=type=registry --platform windows\/amd64 -f images\/busybox\/Dockerfile_windows .*--build-arg OS_VERSION=ltsc2022 .* -t 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-windows-amd64-ltsc2022 images\/busybox$/m,
    );
    // imagetools makes the list: each entry keeps the platform of its image, os.version included.
    expect(text).toMatch(/buildx imagetools create -t 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1 (--annotation \S+ )+127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-linux-amd64 /);
    expect(text).not.toContain('manifest create');
    // The Linux-cache helper is pushed first.
    expect(index(r.lines, /building windows-servercore-cache \(/)).toBeLessThan(index(r.lines, /building busybox \(/));
  });

  it('without buildx, skips Windows with a notice and leaves it out of the list', () => {
    const text = plan('kubernetes', ['push-busybox']).lines.join('\n');
    expect(text).toContain('busybox (windows-amd64-ltsc2022): skipped: a Windows image needs buildx or REMOTE_DOCKER_URL_ltsc2022; left out of the manifest list');
    expect(text).toMatch(/manifest create --insecure 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-linux-amd64 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-linux-arm64$/m);
    // Not every platform is published: no content tag.
    expect(text).toMatch(/not pushing :[0-9a-f]{16} until windows-amd64-ltsc2019 windows-amd64-ltsc2022 are published too/);
    expect(text).not.toMatch(/mkimages\.sh copy .*\/busybox:/);
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
    const create = /manifest create --insecure 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1 .*/.exec(text)![0];
    expect(create).toContain('busybox:1.36.1-1-windows-amd64-ltsc2022');
    expect(create).not.toContain('ltsc2019');
    expect(text).toContain('manifest annotate --os windows --arch amd64 --os-version 10.0.20348.2966 127.0.0.1:5000/e2e/busybox:1.36.1-1 127.0.0.1:5000/e2e/busybox:1.36.1-1-windows-amd64-ltsc2022');
  });

  it('passes a named builder and registry caches to buildx, and pushes parents first for a builder that cannot see the engine', () => {
    const r = plan('kubernetes', ['build-kitten', 'HOST_ARCH=amd64', 'BUILDX_BUILDER=fleet', 'CACHE_REGISTRY=cache.local:5000/c'], { FAKE_DOCKER_BUILDX: '1' });
    const text = r.lines.join('\n');
    expect(text).toContain(
      'buildx build --builder fleet --provenance=false --sbom=false --load --platform linux/amd64 -f images/kitten/Dockerfile',
    );
    expect(text).toContain('--cache-from type=registry,ref=cache.local:5000/c/kitten:cache-linux-amd64 --cache-to type=registry,ref=cache.local:5000/c/kitten:cache-linux-amd64,mode=max');
    // Planned in this run (no sub-make): the parents are published first.
    expect(text).not.toContain('make --no-print-directory');
    expect(index(r.lines, /publishing the list \S+\/agnhost:/)).toBeGreaterThanOrEqual(0);
    expect(index(r.lines, /publishing the list \S+\/agnhost:/)).toBeLessThan(index(r.lines, /building kitten/));
  });
});

describe('make -n: Kubernetes bin step, emulation, mirrors, bundles, immutable versions', () => {
  it('stages a copy of the context, rewrites BASEARCH, drops CROSS_BUILD_ lines and runs the bin step there', () => {
    const r = plan('lifecycle', ['build-echoserver-linux-arm64', 'HOST_ARCH=arm64']);
    // A folder of this run's own: concurrent runs and steps never share one.
    const stage = /cp -a images\/echoserver\/\. (_output\/stage\/[^/ ]+\/build\/echoserver\/linux-arm64)\/$/m.exec(r.stdout)![1];
    const at = (s: string) => r.lines.findIndex((l) => l.includes(s));
    expect(at(`rm -rf ${stage}`)).toBeLessThan(at(`mkdir -p ${stage}`));
    expect(at(`mkdir -p ${stage}`)).toBeLessThan(at('cp -a'));
    expect(r.lines).toContain(`sed -i -e 's/BASEARCH/arm64/g' -e '/CROSS_BUILD_/d' ${stage}/Dockerfile`);
    expect(r.stdout).toMatch(new RegExp(`^make -C images/echoserver bin OS=linux ARCH=arm64 TARGET=/\\S+/test/fixtures/lifecycle/${stage}$`, 'm'));
    const build = r.lines.find((l) => l.includes(' build --platform'))!;
    expect(build).toContain(`-f ${stage}/Dockerfile`);
    expect(build.endsWith(` ${stage}`)).toBe(true);
    expect(r.lines.lastIndexOf(`rm -rf ${stage}`)).toBeGreaterThan(r.lines.indexOf(build));
  });

  it('checks for QEMU before RUN steps of a foreign architecture, and only then', () => {
    const foreign = plan('lifecycle', ['build-runner-linux-arm64', 'HOST_ARCH=amd64']).lines.join('\n');
    expect(foreign).toContain('grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64');
    expect(foreign).toContain('need QEMU emulation');
    expect(plan('lifecycle', ['build-runner-linux-amd64', 'HOST_ARCH=amd64']).lines.join('\n')).not.toContain('qemu-');
    expect(plan('lifecycle', ['build-app-linux-s390x', 'HOST_ARCH=amd64']).lines.join('\n')).not.toContain('qemu-');
  });

  it('mirrors an upstream image with the first tool present, and push-all-images includes it', () => {
    // The copy compares digests first (mkimages.sh copy), and copies with the tool there is.
    const r = plan('lifecycle', ['mirror-dockerhub/busybox', 'REGISTRY_TOOL=skopeo']);
    expect(r.lines).toContain('sh generated/mkimages.sh copy skopeo ' + `'${FAKE_DOCKER}'` + ' docker.io/library/busybox:1.29 127.0.0.1:5000/e2e/dockerhub/busybox:1.29');
    const x = plan('lifecycle', ['mirror-dockerhub/busybox'], { FAKE_DOCKER_BUILDX: '1' });
    expect(x.lines.join('\n')).toContain(`mkimages.sh copy imagetools '${FAKE_DOCKER}' docker.io/library/busybox:1.29 127.0.0.1:5000/e2e/dockerhub/busybox:1.29`);
    const all = plan('lifecycle', ['push-all-images']);
    expect(all.lines.join('\n')).toContain('docker.io/library/busybox:1.29 127.0.0.1:5000/e2e/dockerhub/busybox:1.29');
  });

  it('copies promoted images to MIRROR_REGISTRY by tag and writes the mapping file', () => {
    const r = plan('lifecycle', ['mirror-all-images', 'MIRROR_REGISTRY=127.0.0.1:6000/disconnected', 'REGISTRY_TOOL=skopeo']);
    const text = r.lines.join('\n');
    const copies = r.lines.filter((l) => l.includes('mkimages.sh copy skopeo'));
    expect(copies.map((l) => l.split(' ').slice(-2).join(' '))).toEqual([
      '127.0.0.1:5000/e2e/app:1.0 127.0.0.1:6000/disconnected/app:1.0',
      '127.0.0.1:5000/e2e/echoserver:2.5 127.0.0.1:6000/disconnected/echoserver:2.5',
      expect.stringMatching(/^127\.0\.0\.1:5000\/e2e\/runner:([0-9a-f]{16}) 127\.0\.0\.1:6000\/disconnected\/runner:\1$/),
    ]);
    expect(text).not.toContain('dockerhub/busybox');
    expect(text).toContain('mv _output/mirror-mapping.txt.tmp _output/mirror-mapping.txt');
    const missing = runMake(fixture('lifecycle'), ['-f', 'generated/images.mk', 'mirror-all-images']);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('set MIRROR_REGISTRY=');
  });

  it('saves every image into one bundle with canonical and published names', () => {
    const r = plan('lifecycle', ['save-all-images', 'ARCHIVE_DIR=/tmp/bundle', 'LOCAL_PREFIX=e2e.local']);
    const save = r.lines.find((l) => l.includes(' save '))!;
    // Saved to a file first, so that a failing save stops make (a pipe into gzip would hide it).
    expect(save).toContain('save -o /tmp/bundle/.images.tar e2e.local/app:latest 127.0.0.1:5000/e2e/app:1.0 e2e.local/dockerhub/busybox:latest 127.0.0.1:5000/e2e/dockerhub/busybox:1.29');
    expect(save).not.toContain('|');
    expect(r.lines).toContain('gzip -n -f /tmp/bundle/.images.tar');
    expect(r.lines).toContain('mv /tmp/bundle/.images.tar.gz /tmp/bundle/images.tar.gz');
  });

  it('refuses to overwrite a published version with other content unless FORCE=1', () => {
    // The registry holds app:1.0, built from other content (its label says so).
    const dir = tempDir('mkimages-plan-');
    writeFileSync(join(dir, 'published'), '127.0.0.1:5000/e2e/app:1.0\n');
    writeFileSync(join(dir, 'labels'), '127.0.0.1:5000/e2e/app:1.0 00000000000000aa\n');
    const env = { FAKE_DOCKER_PUBLISHED: join(dir, 'published'), FAKE_DOCKER_LABELS: join(dir, 'labels') };
    for (const force of [[], ['FORCE=0'], ['FORCE=yes']]) {
      const r = plan('lifecycle', ['push-app', ...force], env);
      expect(r.status, force.join(' ')).not.toBe(0);
      expect(r.stderr).toContain('is already published with other content (00000000000000aa)');
      expect(r.stderr).toContain('bump the version in images/app');
      expect(r.stdout).toBe('');
    }
    expect(plan('lifecycle', ['push-app', 'FORCE=1'], env).lines.join('\n')).toContain('publishing the list 127.0.0.1:5000/e2e/app:1.0');
    // Published by another tool (no label): refused, pointing to adopt-app.
    writeFileSync(join(dir, 'labels'), '127.0.0.1:5000/e2e/app:1.0 -\n');
    const foreign = plan('lifecycle', ['push-app'], env);
    expect(foreign.status).not.toBe(0);
    expect(foreign.stderr).toContain("run 'make adopt-app'");
    // The same content, partly published: resumed, never refused.
    const json = JSON.parse(readFileSync(join(fixture('lifecycle'), 'generated/images.json'), 'utf8')) as { images: Array<{ name: string; hash: string }> };
    writeFileSync(join(dir, 'labels'), `127.0.0.1:5000/e2e/app:1.0 ${json.images.find((i) => i.name === 'app')!.hash}\n`);
    expect(plan('lifecycle', ['push-app'], env).status).toBe(0);
  });
});

describe('make, for real, with a docker that says yes to everything and prints nothing', () => {
  it('push-busybox builds every platform (Windows through buildx, the helper first) and creates, annotates and pushes the lists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mkimages-yes-'));
    cpSync(fixture('kubernetes'), dir, { recursive: true });
    const log = join(dir, 'calls.log');
    const yes = join(dir, 'docker');
    // A registry that holds nothing yet but what `imagetools create` makes.
    const made = join(dir, 'made');
    writeFileSync(
      yes,
      [
        '#!/bin/sh',
        // (A descriptor file, imagetools create -f FILE, is logged as what it holds.)
        `line=$*; case "$*" in "buildx imagetools create "*) line=; f=; for a; do if [ -n "$f" ]; then a=$(cat "$a"); line=\${line% -f}; f=; elif [ "$a" = -f ]; then f=1; fi; line="$line\${line:+ }$a"; done ;; esac; printf '%s\\n' "$line" >> '${log}'`,
        'case "$*" in',
        `  "buildx imagetools create -t "*) echo "$5" >> '${made}' ;;`,
        `  "buildx build "*) while [ $# -gt 0 ]; do [ "$1" = -t ] && echo "$2" >> '${made}'; shift; done ;;`,
        `  "buildx imagetools inspect"*) ref=$4; [ "$ref" = --raw ] && ref=$5; grep -qxF -- "$ref" '${made}' 2>/dev/null && { echo '{"schemaVersion": 2}'; exit 0; }; echo "ERROR: not found" >&2; exit 1 ;;`,
        'esac',
        'exit 0',
        '',
      ].join('\n'),
    );
    chmodSync(yes, 0o755);
    const r = runMake(dir, ['-f', 'generated/images.mk', 'push-busybox', `DOCKER=${yes}`, 'REGISTRY=127.0.0.1:5000/e2e']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const calls = readFileSync(log, 'utf8').split('\n');
    const at = (re: RegExp) => calls.findIndex((c) => re.test(c));
    expect(at(/^buildx build .*--output=type=registry\S* .*-t 127\.0\.0\.1:5000\/e2e\/windows-servercore-cache:1\.0-linux-amd64-ltsc2022 /)).toBeGreaterThanOrEqual(0);
    for (const v of ['ltsc2019', 'ltsc2022']) {
      const i = at(new RegExp(`^buildx build .*--output=type=registry --platform windows/amd64 -f images/busybox/Dockerfile_windows .*--build-arg OS_VERSION=${v} .*-t 127\\.0\\.0\\.1:5000/e2e/busybox:1\\.36\\.1-1-windows-amd64-${v} `));
      expect(i, v).toBeGreaterThan(at(/-t 127\.0\.0\.1:5000\/e2e\/windows-servercore-cache:1\.0-linux-amd64-ltsc2022 /));
    }
    // Windows entries as descriptors with their full os.version (imagetools keeps none of its own).
    const list = at(/^buildx imagetools create -t 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1 .*"os":"windows","architecture":"amd64","os\.version":"10\.0\.17763\.\d+".*"os":"windows","architecture":"amd64","os\.version":"10\.0\.20348\.\d+"\}\}$/);
    expect(list).toBeGreaterThan(at(/-t 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1-windows-amd64-ltsc2022 /));
    // The content tag: a registry-side copy of the list, after it.
    expect(at(/^buildx imagetools create -t 127\.0\.0\.1:5000\/e2e\/busybox:[0-9a-f]{16} 127\.0\.0\.1:5000\/e2e\/busybox:1\.36\.1-1$/)).toBeGreaterThan(list);
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
    const snapshot = join(dir, 'context-seen-by-docker');
    const r = runMake(dir, ['-f', 'generated/images.mk', 'build-echoserver-linux-arm64', `DOCKER=${FAKE_DOCKER}`, 'HOST_ARCH=arm64'], { FAKE_DOCKER_LOG: log, FAKE_DOCKER_SNAPSHOT: snapshot });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const stage = snapshot;
    expect(readFileSync(join(stage, 'echoserver'), 'utf8')).toBe('linux/arm64\n');
    const dockerfile = readFileSync(join(stage, 'Dockerfile'), 'utf8');
    expect(dockerfile).not.toContain('CROSS_BUILD_');
    expect(dockerfile).toContain('RUN echo arm64 > /arch');
    expect(readdirSync(join(dir, 'images/echoserver')).sort()).toEqual(before);
    expect(readFileSync(log, 'utf8')).toMatch(/'-f' '_output\/stage\/[^/']+\/build\/echoserver\/linux-arm64\/Dockerfile'/);
    // The staged copy is removed once built.
    const runs = readdirSync(join(dir, '_output/stage')).filter((d) => d.startsWith('tmp.'));
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.flatMap((d) => readdirSync(join(dir, '_output/stage', d, 'build', 'echoserver')))).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
