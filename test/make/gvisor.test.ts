// gVisor's own names on the real gVisor tree (test/fixtures/real-gvisor) with
// `compatibility: gvisor` and nothing else: the targets and variables gVisor's
// root Makefile and CI call, planned with make -n and a recording stand-in.

import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_DOCKER, PROJECT_ROOT, runCli, runMake } from '../support/tree.js';

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mkimages-gvisor-'));
  cpSync(join(PROJECT_ROOT, 'test/fixtures/real-gvisor/images'), join(root, 'images'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(root, 'images/mkimages.yaml'), 'compatibility: gvisor\n');
  // gVisor's root Makefile includes the images Makefile and calls its targets from its own.
  writeFileSync(join(root, 'Makefile'), 'include generated/images.mk\ncontainerd-test-1.7: load-basic_alpine load-basic_busybox\n\t@echo ">> testing"\n');
  const r = runCli(root);
  expect(r.stderr.split('\n').filter((l) => /error/.test(l))).toEqual([]);
  expect(r.status).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const make = (...args: string[]) => runMake(root, ['-n', `DOCKER=${FAKE_DOCKER}`, 'REGISTRY_TOOL=imagetools', ...args]);
const builds = (out: string) => out.split('\n').filter((l) => / build --platform /.test(l));

describe('compatibility: gvisor on the real gVisor tree', () => {
  it('load-basic_alpine builds basic/alpine under its canonical gvisor.dev/images name', () => {
    const r = make('load-basic_alpine');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(builds(r.stdout)).toHaveLength(1);
    expect(builds(r.stdout)[0]).toContain('-f images/basic/alpine/Dockerfile ');
    expect(r.stdout).toMatch(/ gvisor\.dev\/images\/basic\/alpine:latest$/m);
  });

  it('load-basic loads every image under images/basic, and nothing else', () => {
    const r = make('load-basic');
    expect(r.status, r.stderr).toBe(0);
    const dirs = builds(r.stdout).map((l) => /-f images\/(\S+)\/Dockerfile/.exec(l)?.[1]);
    expect(dirs.length).toBeGreaterThan(20);
    expect(dirs.every((d) => d?.startsWith('basic/'))).toBe(true);
  });

  it('load-runtimes_go1.22 builds from Dockerfile.x86_64, the only Dockerfile there', () => {
    const r = make('load-runtimes_go1.22', 'ARCH=x86_64');
    expect(r.status, r.stderr).toBe(0);
    expect(builds(r.stdout).map((l) => /-f (\S+)/.exec(l)?.[1])).toEqual(['images/runtimes/go1.22/Dockerfile.x86_64']);
  });

  it('ARCH=aarch64 uses Dockerfile.aarch64 where there is one, and skips amd64-only images with a notice', () => {
    const r = make('load-gpu_cuda-tests', 'ARCH=aarch64');
    expect(r.status, r.stderr).toBe(0);
    expect(builds(r.stdout).map((l) => /--platform (\S+) -f (\S+)/.exec(l)?.slice(1).join(' '))).toEqual(['linux/arm64 images/gpu/cuda-tests/Dockerfile.aarch64']);
    // A plain Dockerfile builds for either ARCH (gVisor's default platforms: amd64 and arm64).
    const alpine = make('load-basic_alpine', 'ARCH=aarch64');
    expect(builds(alpine.stdout).map((l) => /--platform (\S+) -f (\S+)/.exec(l)?.slice(1).join(' '))).toEqual(['linux/arm64 images/basic/alpine/Dockerfile']);
    const skip = make('load-runtimes_go1.22', 'ARCH=aarch64');
    expect(skip.status, skip.stderr).toBe(0);
    expect(builds(skip.stdout)).toEqual([]);
    expect(skip.stdout).toContain('runtimes/go1.22 has no platform for aarch64');
  });

  it('ARCH=aarch64 push-all-images builds arm64 only, never from a Dockerfile.x86_64, and creates no list without entries', () => {
    const r = runMake(root, ['-n', `DOCKER=${FAKE_DOCKER}`, 'ARCH=aarch64', 'push-all-images'], { FAKE_DOCKER_BUILDX: '1' });
    expect(r.status, r.stderr).toBe(0);
    const b = r.stdout.split('\n').filter((l) => l.includes('buildx build'));
    expect(b.length).toBeGreaterThan(0);
    expect(b.every((l) => l.includes('--platform linux/arm64'))).toBe(true);
    expect(b.some((l) => l.includes('x86_64'))).toBe(false);
    // gVisor's images have no VERSION: their list is :H, made only once every platform is there.
    expect(r.stdout.split('\n').filter((l) => l.includes('imagetools create') || l.includes('manifest create'))).toEqual([]);
    expect(r.stdout).toMatch(/>> benchmarks\/build-grpc: \S+ holds linux-arm64; not pushing :[0-9a-f]{16} until linux-amd64 is published too/);
  });

  it('lists the test images by gVisor name, without the NON_TEST_IMAGES', () => {
    const r = runMake(root, ['-s', 'list-all-test-images']);
    expect(r.status, r.stderr).toBe(0);
    const names = r.stdout.trim().split('\n');
    expect(names).toContain('basic_alpine');
    expect(names).toContain('runtimes_go1.22');
    expect(names).not.toContain('gpu_ollama_bench');
    expect(make('load-all-test-images').status).toBe(0);
  });

  it('takes REMOTE_IMAGE_PREFIX, LOCAL_IMAGE_PREFIX and DOCKER_BUILD_ARGS for REGISTRY, LOCAL_PREFIX and BUILD_FLAGS', () => {
    const r = make('rebuild-basic_alpine', 'REMOTE_IMAGE_PREFIX=127.0.0.1:5999/gv', 'LOCAL_IMAGE_PREFIX=local.test/images', 'DOCKER_BUILD_ARGS=--pull');
    expect(r.status, r.stderr).toBe(0);
    const [b] = builds(r.stdout);
    expect(b).toContain('-t local.test/images/basic/alpine:');
    expect(b).toContain('-t 127.0.0.1:5999/gv/basic/alpine:');
    expect(b).toMatch(/ --pull images\/basic\/alpine$/);
  });

  it("a rule of gVisor's own Makefile reaching load-basic_alpine plans it in a sub-make", () => {
    const r = make('containerd-test-1.7');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^make --no-print-directory -f Makefile MKIMAGES_DELEGATED=1 load-basic\/alpine$/m);
    expect(builds(r.stdout).map((l) => /-f (\S+)/.exec(l)?.[1]).sort()).toEqual(['images/basic/alpine/Dockerfile', 'images/basic/busybox/Dockerfile']);
  });
});
