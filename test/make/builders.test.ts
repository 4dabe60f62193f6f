// Which builder make picks when the client has no buildx, and the QEMU check
// before foreign-architecture RUN steps (CHECK_EMULATION turns it off).

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAKE_DOCKER, makeTree, runCli, runMake } from '../support/tree.js';

const root = makeTree(
  {
    'images/x/Dockerfile': 'FROM scratch\nCOPY a /a\n',
    'images/x/a': 'a\n',
    'images/r/BASEIMAGE': 'linux/amd64=busybox:1\nlinux/arm64=busybox:1\n',
    'images/r/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\nRUN true\n',
  },
  'mkimages-builders-',
);
const bin = mkdtempSync(join(tmpdir(), 'mkimages-builders-bin-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(bin, { recursive: true, force: true });
});
expect(runCli(root).status).toBe(0);

/** A docker client without buildx that says it is `version`. */
function clientOf(version: string): string {
  const path = join(bin, `docker-${version}`);
  writeFileSync(path, `#!/bin/sh\ncase "$*" in\n  "buildx version") exit 1 ;;\n  "version --format {{.Client.Version}}") echo ${version} ;;\n  "--version") echo "Docker version ${version}" ;;\nesac\nexit 0\n`);
  chmodSync(path, 0o755);
  return path;
}

const plan = (...args: string[]) => runMake(root, ['-n', ...args], { REGISTRY_TOOL: 'skopeo' });

describe('a client without buildx', () => {
  it('Docker 23 and later: make stops before anything runs and says to install docker-buildx', () => {
    for (const v of ['23.0.0', '26.1.5', '28.2.2']) {
      const r = plan(`DOCKER=${clientOf(v)}`, 'build-x');
      expect(r.status, v).not.toBe(0);
      expect(r.stderr, v).toContain('has no buildx plugin and refuses BuildKit builds without it: install docker-buildx');
      expect(r.stdout, v).not.toContain(' build ');
    }
  });

  it('Docker 20.10: the classic builder, with BuildKit on', () => {
    const client = clientOf('20.10.24');
    const r = plan(`DOCKER=${client}`, 'build-x');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').some((l) => / ?env DOCKER_BUILDKIT=1 BUILDX_NO_DEFAULT_ATTESTATIONS=1 /.test(l) && l.includes(` ${client} build --platform linux/amd64 `))).toBe(true);
  });
});

describe('the QEMU check before RUN steps of another architecture', () => {
  const qemuCheck = 'grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64';
  const build = (...args: string[]) => plan(`DOCKER=${FAKE_DOCKER}`, 'HOST_ARCH=amd64', 'PLATFORMS=linux/arm64', 'build-r', ...args);

  it('runs before an arm64 build with RUN on an amd64 host', () => {
    const r = build();
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const check = lines.findIndex((l) => l.includes(qemuCheck));
    expect(check).toBeGreaterThanOrEqual(0);
    expect(lines.findIndex((l) => l.includes(' build --platform linux/arm64 '))).toBeGreaterThan(check);
  });

  it('is skipped with CHECK_EMULATION=no or empty, and for the host architecture', () => {
    for (const off of ['CHECK_EMULATION=no', 'CHECK_EMULATION=']) {
      const r = build(off);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout, off).toContain(' build --platform linux/arm64 ');
      expect(r.stdout, off).not.toContain(qemuCheck);
    }
    const host = plan(`DOCKER=${FAKE_DOCKER}`, 'HOST_ARCH=arm64', 'PLATFORMS=linux/arm64', 'build-r');
    expect(host.stdout).toContain(' build --platform linux/arm64 ');
    expect(host.stdout).not.toContain(qemuCheck);
  });
});
