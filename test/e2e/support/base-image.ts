// The tests' base images, made from the host's static busybox: nothing is
// pulled from a public registry (none is reachable here).
//
//  - baseImage:      `docker import` of the rootfs tar, host arch, local only.
//  - baseImageMulti: the same rootfs built by BuildKit (FROM scratch + COPY)
//    once per platform, pushed to the run's registry and joined with
//    `docker manifest`. `docker import --platform` cannot be used for the
//    foreign arch: engine 20.10 ignores it unless the daemon is experimental
//    (the image stays amd64), and BuildKit will not use a local image of
//    another arch for `FROM` under `--platform` — it goes to Docker Hub instead.

import { chmod, copyFile, mkdir, open, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clientEnv } from './engine.js';
import { makeTempDir, runOk } from './proc.js';

export const BUSYBOX = '/bin/busybox';

export interface BaseImages {
  baseImage: string;
  baseImageMulti: string;
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
const hostArch = (): string => GOARCH[process.arch] ?? process.arch;

/**
 * True when the ELF file has no PT_INTERP program header, i.e. needs no
 * dynamic loader. Debian's plain `busybox` package is dynamic and would fail in
 * a FROM-scratch rootfs with a confusing "no such file or directory".
 */
async function isStaticElf(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46) return false; // "\x7fELF"
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64 ? Number(le ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : u32(head, 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (u32(table, i * phentsize) === 3 /* PT_INTERP */) return false;
    }
    return true;
  } finally {
    await fh.close();
  }
}

/** Writes a busybox rootfs (bin/ with every applet as a symlink) under `dir`. */
async function makeRootfs(dir: string): Promise<void> {
  if (!existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} not found (Debian package busybox-static; run scripts/install-e2e-deps.sh as root)`);
  }
  if (!(await isStaticElf(BUSYBOX))) {
    throw new Error(`${BUSYBOX} is dynamically linked; the base image needs Debian's busybox-static`);
  }
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'etc'));
  await mkdir(join(dir, 'tmp'));
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  const { stdout } = await runOk(BUSYBOX, ['--list']);
  for (const applet of stdout.split('\n').map((s) => s.trim())) {
    if (applet && applet !== 'busybox' && !applet.includes('/')) {
      await symlink('busybox', join(dir, 'bin', applet));
    }
  }
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/**
 * Creates both base images. Every name contains `runId`, so teardown can
 * remove them (and only them) from a user's engine.
 */
export async function createBaseImages(opts: {
  docker: string;
  dockerHost: string;
  dockerConfig: string;
  registry: string;
  runId: string;
}): Promise<BaseImages> {
  const { docker, registry, runId } = opts;
  const env = clientEnv(opts, { DOCKER_BUILDKIT: '1' });
  const name = `mkimages-e2e-base-${runId}`;
  const baseImage = `${name}:latest`;
  const remote = `${registry}/${name}`;
  const baseImageMulti = `${remote}:latest`;

  const dir = await makeTempDir('mkimages-e2e-base-');
  try {
    const ctx = join(dir, 'ctx');
    await makeRootfs(join(ctx, 'rootfs'));

    const tar = join(dir, 'rootfs.tar');
    await runOk('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', join(ctx, 'rootfs'), '-cf', tar, '.']);
    await runOk(docker, ['import', '-c', 'ENV PATH=/bin', '-c', 'CMD ["/bin/sh"]', tar, baseImage], { env });

    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD ["/bin/sh"]\n');
    const arches = [...new Set([hostArch(), 'amd64', 'arm64'])].filter((a) => a === 'amd64' || a === 'arm64');
    const parts: string[] = [];
    for (const arch of arches) {
      const ref = `${remote}:${arch}`;
      await runOk(docker, ['build', '-q', '--platform', `linux/${arch}`, '-t', ref, ctx], { env });
      await runOk(docker, ['push', '-q', ref], { env });
      parts.push(ref);
    }
    // --insecure is needed for create (it reads the parts over HTTP); push of
    // a list created with --insecure works either way. --purge drops the
    // local list from DOCKER_CONFIG once pushed.
    await runOk(docker, ['manifest', 'create', '--insecure', baseImageMulti, ...parts], { env });
    await runOk(docker, ['manifest', 'push', '--insecure', '--purge', baseImageMulti], { env });
    // The per-arch tags were only needed for the push.
    await runOk(docker, ['image', 'rm', ...parts], { env });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { baseImage, baseImageMulti };
}
