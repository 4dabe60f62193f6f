// GNU make on the golden Makefiles: every golden parses, and plans the
// commands expected of it. A recording stand-in for docker answers the few
// questions make asks (buildx present? which images are local?).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
  return { ...r, lines: r.stdout.split('\n'), calls: readFileSync(log, 'utf8').split('\n').filter(Boolean), dir };
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
    expect(kitten).toContain('--build-arg BASEIMAGE=127.0.0.1:5000/e2e/agnhost:2.52-linux-amd64');
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
    expect(text).toContain('manifest annotate --os windows --arch amd64 --os-version 10.0.20348.2966 127.0.0.1:5000/e2e/busybox:1.36.1-1 127.0.0.1:5000/e2e/busybox:1.36.1-1-windows-amd64-ltsc2022');
  });

  it('without buildx, skips Windows with a notice and leaves it out of the list', () => {
    const text = plan('kubernetes', ['push-busybox']).lines.join('\n');
    expect(text).toContain('busybox (windows-amd64-ltsc2022): skipped, Windows images need buildx; left out of the manifest list');
    expect(text).toContain('manifest create --insecure 127.0.0.1:5000/e2e/busybox:1.36.1-1 127.0.0.1:5000/e2e/busybox:1.36.1-1-linux-amd64 127.0.0.1:5000/e2e/busybox:1.36.1-1-linux-arm64 &&');
  });

  it('plans nothing for images already present or published', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mkimages-plan-'));
    const json = JSON.parse(readFileSync(join(fixture('kubernetes'), 'generated/images.json'), 'utf8')) as { images: Array<{ name: string; hash: string; publishedName: string }> };
    const httpd = json.images.find((i) => i.name === 'httpd')!;
    const images = join(dir, 'images');
    writeFileSync(images, [`mkimages.local/httpd:${httpd.hash}-linux-amd64@sha256:aaa`, `mkimages.local/httpd:${httpd.hash}@sha256:aaa`, 'mkimages.local/httpd:latest@sha256:aaa'].join('\n'));
    const r = plan('kubernetes', ['build-httpd', 'HOST_ARCH=amd64'], { FAKE_DOCKER_IMAGES: images });
    expect(r.lines.filter((l) => /\bbuild\b|\btag\b/.test(l) && !l.startsWith('echo'))).toEqual([]);
    expect(r.lines.join('\n')).toContain('is up to date');
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
