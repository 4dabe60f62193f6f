// GNU make with podman as the client (DOCKER=podman, BUILDER=podman, or a
// client whose --version says podman): the exact commands of build, push,
// load, save and the bundle path of mirror-all-images. Stand-ins answer for
// podman (test/support/fake-docker under the name `podman`) and for skopeo
// (written here: it reads what the registry holds from a file), so make -n
// plans as it would against a registry, and the bundle is mirrored for real.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_DOCKER, makeTree, removeTree, runCli } from '../support/tree.js';

const REG = '127.0.0.1:5000/e2e';

// skopeo, as mkimages.sh runs it: `inspect --raw`, `inspect --config` (with
// the content label of FAKE_SKOPEO_PUBLISHED's `REF H` lines, `-` for none),
// `copy`. Every call goes to FAKE_SKOPEO_LOG.
const FAKE_SKOPEO = `#!/bin/sh
printf '%s\\n' "$*" >>"\${FAKE_SKOPEO_LOG:-/dev/null}"
last() { for a in "$@"; do l=$a; done; printf '%s' "$l"; }
case "$1" in
  inspect)
    ref=$(last "$@"); ref=\${ref#docker://}
    line=
    [ -n "\${FAKE_SKOPEO_PUBLISHED:-}" ] && [ -f "$FAKE_SKOPEO_PUBLISHED" ] && line=$(grep -F -- "$ref " "$FAKE_SKOPEO_PUBLISHED" | head -n 1)
    [ -n "$line" ] || { echo "reading manifest $ref: manifest unknown" >&2; exit 1; }
    h=\${line##* }
    case " $* " in
      *" --config "*) if [ "$h" = - ]; then echo '{"config":{"Labels":{}},"rootfs":{}}'; else printf '{"config":{"Labels":{"dev.mkimages.content":"%s"}},"rootfs":{}}\\n' "$h"; fi ;;
      *) echo '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}' ;;
    esac ;;
esac
exit 0
`;

let root = '';
let bin = '';
const temps: string[] = [];
const hash = (name: string): string => {
  const catalog = JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as { images: Array<{ name: string; hash: string }> };
  return catalog.images.find((i) => i.name === name)!.hash;
};

beforeAll(() => {
  root = makeTree(
    {
      'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64, linux/arm64]\n',
      'images/x/Dockerfile': 'FROM scratch\nCOPY content.txt /\n',
      'images/x/content.txt': 'x\n',
      'images/x/VERSION': '1.0\n',
      'images/y/Dockerfile': 'FROM scratch\nCOPY content.txt /\n',
      'images/y/content.txt': 'y\n',
      'images/keep/Dockerfile': 'FROM scratch\nCOPY content.txt /\n',
      'images/keep/content.txt': 'keep\n',
      'images/keep/image.yaml': 'version: "2.0"\npromote: false\n',
    },
    'mkimages-podman-make-',
  );
  expect(runCli(root).status).toBe(0);
  bin = join(root, '.bin');
  mkdirSync(bin);
  symlinkSync(FAKE_DOCKER, join(bin, 'podman'));
  writeFileSync(join(bin, 'skopeo'), FAKE_SKOPEO);
  chmodSync(join(bin, 'skopeo'), 0o755);
  // A client not named podman that says it is (the recording wrappers of the e2e tests).
  writeFileSync(join(bin, 'client'), `#!/bin/sh\n[ "$1" = --version ] && { echo "podman version 4.3.1"; exit 0; }\nexec '${FAKE_DOCKER}' "$@"\n`);
  chmodSync(join(bin, 'client'), 0o755);
});

afterAll(() => {
  if (root) removeTree(root);
  temps.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
  calls: string[];
  skopeo: string[];
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mkimages-podman-make-'));
  temps.push(d);
  return d;
}

/** make [-n] in the tree with the podman stand-in; `published`: `REF H` lines the registry holds. */
function make(args: string[], o: { dryRun?: boolean; docker?: string; published?: string[]; images?: string[]; env?: Record<string, string> } = {}): Run {
  const dir = tempDir();
  const log = join(dir, 'docker.log');
  const skopeoLog = join(dir, 'skopeo.log');
  writeFileSync(log, '');
  writeFileSync(skopeoLog, '');
  writeFileSync(join(dir, 'published'), (o.published ?? []).map((l) => `${l}\n`).join(''));
  writeFileSync(join(dir, 'images'), (o.images ?? []).map((l) => `${l}\n`).join(''));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LC_ALL: 'C',
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    FAKE_DOCKER_LOG: log,
    FAKE_DOCKER_IMAGES: join(dir, 'images'),
    FAKE_SKOPEO_LOG: skopeoLog,
    FAKE_SKOPEO_PUBLISHED: join(dir, 'published'),
    ...o.env,
  };
  for (const k of ['REGISTRY_TOOL', 'SOURCE_DATE_EPOCH', 'BUILDER', 'ARCHIVE_COMPRESSION', 'BUNDLE_TOOL']) if (!o.env?.[k]) delete env[k];
  const r = spawnSync(
    'make',
    ['--no-print-directory', '-C', root, '-f', 'generated/images.mk', ...(o.dryRun === false ? [] : ['-n']), `DOCKER=${o.docker ?? join(bin, 'podman')}`, `REGISTRY=${REG}`, 'LOCAL_PREFIX=loc', 'HOST_ARCH=amd64', ...args],
    { encoding: 'utf8', env },
  );
  const read = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean);
  // A command may run under a lock (`flock <file> <command>`): the command is what is compared here.
  const lines = r.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\S*flock \S+ /, ''));
  return { status: r.status, stdout: lines.join('\n'), stderr: r.stderr, lines, calls: read(log), skopeo: read(skopeoLog) };
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('make -n with podman', () => {
  it('is chosen by the client: named podman, BUILDER=podman, or a --version that says podman', () => {
    const podmanBuild = new RegExp(`^\\S+ build --layers=false --tls-verify=false --platform linux/amd64 `, 'm');
    expect(make(['build-x']).stdout).toMatch(podmanBuild);
    expect(make(['build-x'], { docker: join(bin, 'client') }).stdout).toMatch(podmanBuild);
    expect(make(['build-x', 'BUILDER=podman'], { docker: FAKE_DOCKER }).stdout).toMatch(podmanBuild);
    // The docker stand-in without buildx: the classic builder, no podman flags.
    const classic = make(['build-x'], { docker: FAKE_DOCKER });
    expect(classic.stdout).toContain(`${FAKE_DOCKER} build --platform linux/amd64`);
    expect(classic.stdout).not.toContain('--layers=false');
    expect(classic.stdout).not.toContain('--timestamp');
  });

  it('builds into local storage with the reproducible timestamp and the platform label, and tags the local names', () => {
    const H = hash('x');
    const p = join(bin, 'podman');
    const r = make(['build-x']);
    expect(r.stderr).toBe('');
    const build = r.lines.find((l) => l.includes(' build '))!;
    expect(build.startsWith(`${p} build --layers=false --tls-verify=false --platform linux/amd64 -f images/x/Dockerfile --build-arg REGISTRY=${REG} --build-arg LOCAL_PREFIX=loc --label `)).toBe(true);
    expect(build.endsWith(` --label dev.mkimages.content=${H} --label dev.mkimages.platform=linux-amd64 --timestamp 0 -t loc/x:${H}-linux-amd64 -t ${REG}/x:1.0-linux-amd64 -t ${REG}/x:1.0 images/x`)).toBe(true);
    expect(r.lines).toContain(`${p} tag loc/x:${H}-linux-amd64 loc/x:latest`);
    // SOURCE_DATE_EPOCH wins over the folder's commit time.
    expect(make(['build-x', 'SOURCE_DATE_EPOCH=1700000000']).stdout).toContain(' --timestamp 1700000000 ');
    // One platform each, each with its own --platform and label.
    const both = make(['build-x', 'PLATFORMS=linux/amd64,linux/arm64']).lines.filter((l) => l.includes(' build '));
    expect(both.map((l) => /--platform (\S+) .*dev\.mkimages\.platform=(\S+)/.exec(l)!.slice(1).join(' '))).toEqual(['linux/amd64 linux-amd64', 'linux/arm64 linux-arm64']);
  });

  it('finds its own builds in the local store, where podman lists loc/x as localhost/loc/x: no build', () => {
    const H = hash('x');
    const images = [`localhost/loc/x:${H}-linux-amd64@aaa`, `localhost/loc/x:${H}@aaa`, 'localhost/loc/x:latest@aaa', `${REG}/x:1.0@aaa`];
    const r = make(['build-x'], { images });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`x (linux-amd64) is up to date: loc/x:${H}-linux-amd64`);
    expect(r.lines.filter((l) => / (build|tag) /.test(l) && !l.startsWith('echo'))).toEqual([]);
  });

  it('pushes each platform, then the list with podman manifest, then :H; one command a line', () => {
    const H = hash('x');
    const p = join(bin, 'podman');
    const r = make(['push-x']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The registry was read with skopeo, over plain HTTP for a loopback registry.
    expect(r.skopeo).toContain(`inspect --raw --tls-verify=false docker://${REG}/x:${H}`);
    const cmds = r.lines.filter((l) => !l.startsWith('echo'));
    const list = /manifest create (localhost\/mkimages-list\/x:tmp\.[A-Za-z0-9]+-1\.0)$/.exec(cmds.find((l) => l.includes('manifest create'))!)![1]!;
    expect(cmds.map((l) => l.replace(/ --label .*? -t /, ' … -t '))).toEqual([
      `${p} build --layers=false --tls-verify=false --platform linux/amd64 -f images/x/Dockerfile --build-arg REGISTRY=${REG} --build-arg LOCAL_PREFIX=loc … -t ${REG}/x:1.0-linux-amd64 images/x`,
      `${p} push --tls-verify=false ${REG}/x:1.0-linux-amd64`,
      `${p} build --layers=false --tls-verify=false --platform linux/arm64 -f images/x/Dockerfile --build-arg REGISTRY=${REG} --build-arg LOCAL_PREFIX=loc … -t ${REG}/x:1.0-linux-arm64 images/x`,
      `${p} push --tls-verify=false ${REG}/x:1.0-linux-arm64`,
      `${p} manifest create ${list}`,
      `${p} manifest add --tls-verify=false --os linux --arch amd64 ${list} docker://${REG}/x:1.0-linux-amd64`,
      `${p} manifest add --tls-verify=false --os linux --arch arm64 ${list} docker://${REG}/x:1.0-linux-arm64`,
      `${p} manifest push --all --rm --tls-verify=false ${list} docker://${REG}/x:1.0`,
      `sh generated/mkimages.sh copy skopeo '${p}' ${REG}/x:1.0 ${REG}/x:${H}`,
    ]);
    expect(cmds.filter((l) => l.includes(' && ') || l.includes('; '))).toEqual([]);
    // Each platform's build carries its reproducible timestamp.
    expect(cmds.filter((l) => l.includes(' build ')).every((l) => l.includes(' --timestamp 0 '))).toBe(true);
  });

  it('verifies TLS for a registry that is not on loopback', () => {
    const r = make(['push-x', 'REGISTRY=registry.example.com/e2e']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('push registry.example.com/e2e/x:1.0-linux-amd64');
    expect(r.stdout).not.toContain('--tls-verify=false');
    expect(r.skopeo.every((c) => !c.includes('--tls-verify=false'))).toBe(true);
  });

  it('resumes a push: a platform the registry holds for this H is not built again, and the list keeps it', () => {
    const H = hash('x');
    const r = make(['push-x'], { published: [`${REG}/x:1.0-linux-amd64 ${H}`] });
    expect(r.stderr).toBe('');
    const builds = r.lines.filter((l) => l.includes(' build '));
    expect(builds.map((l) => /--platform (\S+)/.exec(l)![1])).toEqual(['linux/arm64']);
    expect(r.lines.filter((l) => l.includes('manifest add')).map((l) => l.split(' ').pop())).toEqual([`docker://${REG}/x:1.0-linux-amd64`, `docker://${REG}/x:1.0-linux-arm64`]);
    // Published with this H: nothing at all.
    const done = make(['push-x'], { published: [`${REG}/x:${H} ${H}`] });
    expect(done.lines.filter((l) => !l.startsWith('echo'))).toEqual([]);
    expect(done.stdout).toContain(`x is up to date: ${REG}/x:${H} is published`);
  });

  it('a version of another content is refused, as with docker', () => {
    const r = make(['push-x'], { published: [`${REG}/x:1.0 00000000000000aa`] });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('is already published with other content (00000000000000aa)');
    expect(r.stdout).toBe('');
  });

  it('loads a published image by pulling it (the host platform), with no build', () => {
    const H = hash('x');
    const p = join(bin, 'podman');
    const r = make(['load-x'], { published: [`${REG}/x:${H} ${H}`] });
    expect(r.stderr).toBe('');
    const cmds = r.lines.filter((l) => !l.startsWith('echo'));
    expect(cmds[0]).toBe(`${p} pull --tls-verify=false --platform linux/amd64 ${REG}/x:${H}`);
    expect(cmds).toContain(`${p} tag loc/x:${H}-linux-amd64 loc/x:latest`);
    expect(cmds.filter((l) => l.includes(' build '))).toEqual([]);
    // Not published: built.
    expect(make(['load-x']).lines.filter((l) => l.includes(' build ')).length).toBe(1);
  });

  it('saves the bundle with podman save -m to a file, then compresses it with xz (podman 4.3 cannot load a gzip docker-archive)', () => {
    const p = join(bin, 'podman');
    const H = hash('y');
    const r = make(['save-all-images', 'ARCHIVE_DIR=/tmp/bundle'], {
      images: [`localhost/loc/x:${hash('x')}-linux-amd64@a`, `localhost/loc/y:${H}-linux-amd64@b`, `localhost/loc/keep:${hash('keep')}-linux-amd64@c`],
    });
    expect(r.stderr).toBe('');
    const at = (s: string) => r.lines.indexOf(s);
    expect(at(`${p} save -m --format docker-archive -o /tmp/bundle/.images.tar loc/keep:latest ${REG}/keep:2.0 loc/x:latest ${REG}/x:1.0 loc/y:latest ${REG}/y:${H}`)).toBeGreaterThan(at(`${p} tag loc/y:latest ${REG}/y:${H}`));
    expect(at('xz -T0 -f /tmp/bundle/.images.tar')).toBeGreaterThan(at(`${p} save -m --format docker-archive -o /tmp/bundle/.images.tar loc/keep:latest ${REG}/keep:2.0 loc/x:latest ${REG}/x:1.0 loc/y:latest ${REG}/y:${H}`));
    expect(at('mv /tmp/bundle/.images.tar.xz /tmp/bundle/images.tar.xz')).toBeGreaterThan(at('xz -T0 -f /tmp/bundle/.images.tar'));
    expect(r.stdout).not.toContain('gzip');
    // save-N: one image, the same way.
    const one = make(['save-x', 'ARCHIVE_DIR=/tmp/bundle'], { images: [`localhost/loc/x:${hash('x')}-linux-amd64@a`] });
    expect(one.lines).toContain('mv /tmp/bundle/.x.tar.xz /tmp/bundle/x.tar.xz');
    // ARCHIVE_COMPRESSION chooses; a value it does not know is an error.
    const gz = make(['save-x', 'ARCHIVE_DIR=/tmp/bundle', 'ARCHIVE_COMPRESSION=gzip'], { images: [`localhost/loc/x:${hash('x')}-linux-amd64@a`] });
    expect(gz.lines).toContain('gzip -n -f /tmp/bundle/.x.tar');
    expect(gz.lines).toContain('mv /tmp/bundle/.x.tar.gz /tmp/bundle/x.tar.gz');
    const none = make(['save-x', 'ARCHIVE_DIR=/tmp/bundle', 'ARCHIVE_COMPRESSION=none'], { images: [`localhost/loc/x:${hash('x')}-linux-amd64@a`] });
    expect(none.lines).toContain('mv /tmp/bundle/.x.tar /tmp/bundle/x.tar');
    const bad = make(['save-x', 'ARCHIVE_COMPRESSION=lzma'], { images: [`localhost/loc/x:${hash('x')}-linux-amd64@a`] });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('ARCHIVE_COMPRESSION=lzma: expected gzip, xz, zstd or none');
    // docker keeps gzip (saved to a file first, so that a failing save stops make); ARCHIVE_COMPRESSION=xz gives it xz.
    const docker = make(['save-x', 'ARCHIVE_DIR=/tmp/bundle'], { docker: FAKE_DOCKER, images: [`loc/x:${hash('x')}-linux-amd64@a`] });
    expect(docker.lines).toContain(`${FAKE_DOCKER} save -o /tmp/bundle/.x.tar loc/x:latest ${REG}/x:1.0`);
    expect(docker.lines).toContain('mv /tmp/bundle/.x.tar.gz /tmp/bundle/x.tar.gz');
    const dockerXz = make(['save-x', 'ARCHIVE_DIR=/tmp/bundle', 'ARCHIVE_COMPRESSION=xz'], { docker: FAKE_DOCKER, images: [`loc/x:${hash('x')}-linux-amd64@a`] });
    expect(dockerXz.lines).toContain(`${FAKE_DOCKER} save -o /tmp/bundle/.x.tar loc/x:latest ${REG}/x:1.0`);
    expect(dockerXz.lines).toContain('mv /tmp/bundle/.x.tar.xz /tmp/bundle/x.tar.xz');
  });

  it('buildx gets SOURCE_DATE_EPOCH as a build arg, and no rewrite-timestamp (Docker 26 refuses it)', () => {
    const r = make(['build-x', 'SOURCE_DATE_EPOCH=1700000000'], { docker: FAKE_DOCKER, env: { FAKE_DOCKER_BUILDX: '1' } });
    expect(r.stderr).toBe('');
    const build = r.lines.find((l) => l.includes(' buildx build '))!;
    expect(build).toContain(' --build-arg SOURCE_DATE_EPOCH=1700000000 ');
    expect(build).not.toContain('rewrite-timestamp');
    expect(build).not.toContain('--timestamp');
  });
});

describe('mirror-all-images MIRROR_FROM=<bundle>', () => {
  /** A docker-archive with the given entries (config: os/arch), compressed with `compress`. */
  function bundle(entries: Array<{ tags: string[]; arch: string }>, compress: 'gzip' | 'xz' | 'none'): string {
    const dir = tempDir();
    const content = join(dir, 'content');
    mkdirSync(content);
    const manifest = entries.map((e, i) => {
      writeFileSync(join(content, `config${i}.json`), `{"architecture":"${e.arch}","os":"linux","config":{}}`);
      return { Config: `config${i}.json`, RepoTags: e.tags, Layers: [] };
    });
    writeFileSync(join(content, 'manifest.json'), JSON.stringify(manifest));
    const tar = join(dir, 'b.tar');
    expect(spawnSync('tar', ['-cf', tar, '-C', content, 'manifest.json', ...entries.map((_, i) => `config${i}.json`)]).status).toBe(0);
    if (compress === 'none') return tar;
    expect(spawnSync(compress, ['-f', tar]).status).toBe(0);
    return `${tar}.${compress === 'gzip' ? 'gz' : 'xz'}`;
  }

  const DEST = '127.0.0.1:6000/disconnected';

  it('plans one mirror-bundle step and no copy from REGISTRY', () => {
    const r = make(['mirror-all-images', `MIRROR_REGISTRY=${DEST}`, 'MIRROR_FROM=/tmp/images.tar.xz', `MIRROR_MAPPING=${join(tempDir(), 'm.txt')}`]);
    expect(r.stderr).toBe('');
    expect(r.lines.filter((l) => l.includes('mkimages.sh'))).toEqual([expect.stringMatching(new RegExp(`^sh generated/mkimages\\.sh mirror-bundle skopeo '${esc(join(bin, 'podman'))}' /tmp/images\\.tar\\.xz \\S+/m\\.txt\\.tmp$`))]);
    expect(r.skopeo).toEqual([]);
    // Without MIRROR_FROM: registry to registry, as before.
    const copies = make(['mirror-all-images', `MIRROR_REGISTRY=${DEST}`, `MIRROR_MAPPING=${join(tempDir(), 'm.txt')}`]).lines.filter((l) => l.includes('mkimages.sh copy'));
    expect(copies).toHaveLength(2);
  });

  it.each(['gzip', 'xz', 'none'] as const)('pushes every promoted image of a %s bundle by tag with skopeo and writes the mapping file', (compress) => {
    const hy = hash('y');
    const file = bundle(
      [
        { tags: ['loc/x:latest', `${REG}/x:1.0`], arch: 'amd64' },
        { tags: ['loc/y:latest', `${REG}/y:${hy}`], arch: 'amd64' },
        { tags: ['loc/keep:latest', `${REG}/keep:2.0`], arch: 'amd64' },
      ],
      compress,
    );
    const mapping = join(tempDir(), 'mapping.txt');
    const r = make(['mirror-all-images', `MIRROR_REGISTRY=${DEST}`, `MIRROR_FROM=${file}`, `MIRROR_MAPPING=${mapping}`], { dryRun: false });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const copies = r.skopeo.filter((c) => c.startsWith('copy '));
    expect(copies.map((c) => c.replace(/docker-archive:\S+\/bundle\.tar:/, 'docker-archive:BUNDLE:'))).toEqual([
      `copy -q --dest-tls-verify=false docker-archive:BUNDLE:@0 docker://${DEST}/x:1.0`,
      `copy -q --dest-tls-verify=false docker-archive:BUNDLE:@1 docker://${DEST}/y:${hy}`,
    ]);
    // The destination was asked whether it holds the image; REGISTRY never was.
    expect(r.skopeo.filter((c) => c.startsWith('inspect ')).map((c) => c.split(' ').pop())).toEqual([`docker://${DEST}/x:1.0`, `docker://${DEST}/y:${hy}`]);
    expect(r.skopeo.some((c) => c.includes(REG))).toBe(false);
    expect(readFileSync(mapping, 'utf8')).toBe(`${REG}/x:1.0=${DEST}/x:1.0\n${REG}/y:${hy}=${DEST}/y:${hy}\n`);
  });

  it('leaves alone a destination that holds the same image (config digest)', () => {
    const file = bundle([{ tags: [`${REG}/x:1.0`], arch: 'amd64' }, { tags: [`${REG}/y:${hash('y')}`], arch: 'arm64' }], 'gzip');
    // The fake skopeo prints this config for DEST/x:1.0; its digest is the bundle's config0.json.
    const dir = tempDir();
    const cfg = '{"architecture":"amd64","os":"linux","config":{}}';
    writeFileSync(join(dir, 'skopeo'), `#!/bin/sh\nprintf '%s\\n' "$*" >>"$FAKE_SKOPEO_LOG"\ncase "$*" in *"inspect --config --raw"*"/x:1.0") printf '%s' '${cfg}'; exit 0 ;; inspect*) echo "manifest unknown" >&2; exit 1 ;; esac\nexit 0\n`);
    chmodSync(join(dir, 'skopeo'), 0o755);
    const r = make(['mirror-all-images', `MIRROR_REGISTRY=${DEST}`, `MIRROR_FROM=${file}`, `MIRROR_MAPPING=${join(dir, 'm.txt')}`], { dryRun: false, env: { PATH: `${dir}:${bin}:${process.env.PATH ?? ''}` } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`${DEST}/x:1.0 is up to date`);
    expect(r.skopeo.filter((c) => c.startsWith('copy ')).map((c) => c.split(' ').pop())).toEqual([`docker://${DEST}/y:${hash('y')}`]);
    // The arm64 image was looked for as arm64 in a list.
    expect(r.skopeo).toContainEqual(expect.stringContaining(`--override-os linux --override-arch arm64 docker://${DEST}/y:`));
  });

  it('refuses a bundle that lacks an image, before pushing anything, and writes no mapping file', () => {
    const file = bundle([{ tags: ['loc/x:latest', `${REG}/x:1.0`], arch: 'amd64' }], 'xz');
    const mapping = join(tempDir(), 'mapping.txt');
    const r = make(['mirror-all-images', `MIRROR_REGISTRY=${DEST}`, `MIRROR_FROM=${file}`, `MIRROR_MAPPING=${mapping}`], { dryRun: false });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`does not hold ${REG}/y:${hash('y')} (was it written by save-all-images of this tree, with this REGISTRY?)`);
    expect(r.skopeo).toEqual([]);
    expect(existsSync(mapping)).toBe(false);
    const missing = make(['mirror-all-images', `MIRROR_REGISTRY=${DEST}`, 'MIRROR_FROM=/nonexistent/images.tar.xz', `MIRROR_MAPPING=${mapping}`], { dryRun: false });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('MIRROR_FROM=/nonexistent/images.tar.xz: no such file');
  });

  it('with BUNDLE_TOOL=engine, loads the bundle and pushes with the client', () => {
    const file = bundle(
      [
        { tags: [`${REG}/x:1.0`], arch: 'amd64' },
        { tags: [`${REG}/y:${hash('y')}`], arch: 'amd64' },
      ],
      'gzip',
    );
    const r = make(['mirror-all-images', `MIRROR_REGISTRY=${DEST}`, `MIRROR_FROM=${file}`, `MIRROR_MAPPING=${join(tempDir(), 'm.txt')}`, 'BUNDLE_TOOL=engine'], { dryRun: false });
    expect(r.stderr).toBe('');
    expect(r.calls.filter((c) => /^'(load|tag|push)'/.test(c))).toEqual([
      expect.stringMatching(/^'load' '-i' '\S+\/bundle\.tar'$/),
      `'tag' '${REG}/x:1.0' '${DEST}/x:1.0'`,
      `'push' '--tls-verify=false' '${DEST}/x:1.0'`,
      `'tag' '${REG}/y:${hash('y')}' '${DEST}/y:${hash('y')}'`,
      `'push' '--tls-verify=false' '${DEST}/y:${hash('y')}'`,
    ]);
  });
});
