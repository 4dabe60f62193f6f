// The tests' base images, made from static busybox binaries: nothing is
// pulled from a public registry (none is reachable here).
//
//  - baseImage:      `docker import` of a rootfs tar with the host's
//    /bin/busybox, host arch, local only.
//  - baseImageMulti: a real two-arch manifest list in the run's registry: the
//    linux/amd64 entry holds an amd64 busybox, the linux/arm64 entry an arm64
//    one (Debian's busybox-static:arm64, which scripts/install-e2e-deps.sh
//    extracts to /var/cache/mkimages-e2e/arm64/busybox). Each entry is built
//    by BuildKit (FROM scratch + COPY, so making it runs nothing foreign) and
//    pushed; BuildKit then resolves `FROM` for a --platform build from the
//    registry, and a RUN step of a linux/arm64 build really runs arm64 code,
//    under QEMU through binfmt_misc (see binfmtEnabled()).

import { chmod, copyFile, mkdir, open, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientEnv } from './engine.js';
import { makeTempDir, run, runOk } from './proc.js';

/** The host's static busybox (Debian's busybox-static). */
export const BUSYBOX = '/bin/busybox';
/** Where scripts/install-e2e-deps.sh puts static busybox binaries of other architectures: `<dir>/<arch>/busybox`. */
export const FOREIGN_BUSYBOX_DIR = '/var/cache/mkimages-e2e';
/** The architectures of baseImageMulti. */
export const MULTI_ARCHES = ['amd64', 'arm64'] as const;
export type Arch = (typeof MULTI_ARCHES)[number];

export interface BaseImages {
  baseImage: string;
  baseImageMulti: string;
}

const ELF_MACHINE: Record<string, number> = { amd64: 62, arm64: 183 };
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
export const hostArch = (): string => GOARCH[process.arch] ?? process.arch;

/** binfmt_misc handler names of QEMU's user emulators, per Go architecture. */
export const QEMU_HANDLER: Record<Arch, string> = { amd64: 'qemu-x86_64', arm64: 'qemu-aarch64' };
export const BINFMT_MISC = '/proc/sys/fs/binfmt_misc';

/**
 * True when the binfmt_misc handler (default qemu-aarch64) is registered and
 * enabled: /proc/sys/fs/binfmt_misc/<handler> starts with "enabled". Then the
 * kernel runs that architecture's binaries through QEMU, in containers too
 * (Debian registers it with the F flag). False when binfmt_misc is not
 * mounted, the handler is not registered, or it is disabled
 * (`echo 0 > /proc/sys/fs/binfmt_misc/qemu-aarch64`).
 */
export function binfmtEnabled(handler = 'qemu-aarch64'): boolean {
  try {
    return readFileSync(join(BINFMT_MISC, handler), 'utf8').split('\n')[0] === 'enabled';
  } catch {
    return false;
  }
}

/** True when this machine can run `arch` binaries: its own arch, or QEMU's handler enabled. */
export function canRunArch(arch: Arch): boolean {
  return arch === hostArch() || binfmtEnabled(QEMU_HANDLER[arch]);
}

/** The static busybox to put in a rootfs for `arch`. */
export function busyboxFor(arch: string): string {
  return arch === hostArch() ? BUSYBOX : join(FOREIGN_BUSYBOX_DIR, arch, 'busybox');
}

/**
 * The ELF file's machine (e_machine) and whether it is static: no PT_INTERP
 * program header, i.e. no dynamic loader needed. Debian's plain `busybox`
 * package is dynamic and would fail in a FROM-scratch rootfs with a confusing
 * "no such file or directory". undefined when the file is no ELF.
 */
async function elfFacts(path: string): Promise<{ machine: number; isStatic: boolean } | undefined> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46) return undefined; // "\x7fELF"
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64 ? Number(le ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : u32(head, 28);
    const machine = u16(head, 18);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (u32(table, i * phentsize) === 3 /* PT_INTERP */) return { machine, isStatic: false };
    }
    return { machine, isStatic: true };
  } finally {
    await fh.close();
  }
}

/**
 * Writes a busybox rootfs (bin/ with every applet as a symlink) under `dir`,
 * with the static busybox for `arch`. The applet list comes from the host's
 * busybox (the same Debian version for every arch), so nothing foreign runs.
 */
async function makeRootfs(dir: string, arch: string): Promise<void> {
  const busybox = busyboxFor(arch);
  const from = arch === hostArch() ? 'Debian package busybox-static' : `busybox-static:${arch}, extracted there`;
  if (!existsSync(busybox)) {
    throw new Error(`${busybox} not found (${from}; run scripts/install-e2e-deps.sh as root)`);
  }
  const elf = await elfFacts(busybox);
  if (!elf?.isStatic) {
    throw new Error(`${busybox} is ${elf ? 'dynamically linked' : 'no ELF file'}; the base image needs Debian's busybox-static`);
  }
  const machine = ELF_MACHINE[arch];
  if (machine !== undefined && elf.machine !== machine) {
    throw new Error(`${busybox} is not a linux/${arch} binary (ELF machine ${elf.machine}, expected ${machine})`);
  }
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'etc'));
  await mkdir(join(dir, 'tmp'));
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(busybox, join(dir, 'bin', 'busybox'));
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

const DOCKERFILE = 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD ["/bin/sh"]\n';

/**
 * Creates both base images. Every name contains `runId`, so teardown can
 * remove them (and only them) from a user's engine.
 *
 * With buildx (`hasBuildx`) each entry is built and pushed by one
 * `docker buildx build --push --provenance=false` and the list is made by
 * `docker buildx imagetools create`. Without it (a client lacking the plugin)
 * the classic way: `docker build`, `docker push`, `docker manifest create
 * --insecure` and `docker manifest push`. Either way the entries are plain
 * image manifests (no attestations) and the list a Docker manifest list.
 */
export async function createBaseImages(opts: {
  docker: string;
  dockerHost: string;
  dockerConfig: string;
  registry: string;
  runId: string;
  hasBuildx: boolean;
}): Promise<BaseImages> {
  const { docker, registry, runId, hasBuildx } = opts;
  const env = clientEnv(opts, { DOCKER_BUILDKIT: '1' });
  const name = `mkimages-e2e-base-${runId}`;
  const baseImage = `${name}:latest`;
  const remote = `${registry}/${name}`;
  const baseImageMulti = `${remote}:latest`;

  const dir = await makeTempDir('mkimages-e2e-base-');
  try {
    const host = hostArch();
    const hostCtx = join(dir, host);
    for (const arch of MULTI_ARCHES) {
      await makeRootfs(join(dir, arch, 'rootfs'), arch);
      await writeFile(join(dir, arch, 'Dockerfile'), DOCKERFILE);
    }
    if (!existsSync(hostCtx)) await makeRootfs(join(hostCtx, 'rootfs'), host);

    const tar = join(dir, 'rootfs.tar');
    await runOk('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', join(hostCtx, 'rootfs'), '-cf', tar, '.']);
    await runOk(docker, ['import', '-c', 'ENV PATH=/bin', '-c', 'CMD ["/bin/sh"]', tar, baseImage], { env });

    const parts = MULTI_ARCHES.map((arch) => `${remote}:${arch}`);
    for (const arch of MULTI_ARCHES) {
      const ref = `${remote}:${arch}`;
      const ctx = join(dir, arch);
      if (hasBuildx) {
        // The docker driver pushes to 127.0.0.1 over HTTP like the engine
        // does; with the containerd store it also keeps `ref` locally.
        await runOk(docker, ['buildx', 'build', '-q', '--platform', `linux/${arch}`, '--provenance=false', '--sbom=false', '--push', '-t', ref, ctx], { env });
      } else {
        await runOk(docker, ['build', '-q', '--platform', `linux/${arch}`, '-t', ref, ctx], { env });
        await runOk(docker, ['push', '-q', ref], { env });
      }
    }
    if (hasBuildx) {
      // imagetools reads and writes 127.0.0.1 over plain HTTP with no config.
      await runOk(docker, ['buildx', 'imagetools', 'create', '-t', baseImageMulti, ...parts], { env });
    } else {
      // --insecure is needed for create (it reads the parts over HTTP); push of
      // a list created with --insecure works either way. --purge drops the
      // local list from DOCKER_CONFIG once pushed.
      await runOk(docker, ['manifest', 'create', '--insecure', baseImageMulti, ...parts], { env });
      await runOk(docker, ['manifest', 'push', '--insecure', '--purge', baseImageMulti], { env });
    }
    // The per-arch tags were only needed for the push (a classic-store
    // `buildx --push` keeps none locally, hence run(), not runOk()).
    await run(docker, ['image', 'rm', ...parts], { env });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { baseImage, baseImageMulti };
}
