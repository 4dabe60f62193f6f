// Bad input, table-driven: each case is a tree with one bad thing beside a
// valid image. The CLI runs on a root whose generated/ holds the output of
// the valid tree; it must exit 1, print exactly the expected sorted
// `path:line: message` lines and the summary, and leave generated/ as it was.
// The table runs the CLI's main() in-process (a spawned node costs ~0.4 s of
// CPU each); a few cases, and a tree holding many problems at once, run the
// real program too.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../../generator/generate.js';
import { writeFiles } from '../../generator/write/output.js';
import { CLI, makeTree, removeTree, runMain, snapshot, writeTree, type Spec } from '../support/tree.js';

const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));

/** The valid image every bad tree sits beside. */
const VALID: Spec = {
  'images/good/Dockerfile': 'FROM scratch\nCOPY hello.txt /\n',
  'images/good/VERSION': '1.0\n',
  'images/good/hello.txt': 'hello\n',
};

/** A root holding VALID and a generated/ written from it (as `npm run generate` would). */
function validRoot(): string {
  const root = makeTree(VALID, 'mkimages-bad-');
  roots.push(root);
  const result = generate(root);
  if (result.diagnostics.length > 0) throw new Error(`the valid tree is not valid: ${JSON.stringify(result.diagnostics)}`);
  writeFiles(root, result);
  // An unrelated file in generated/ must survive too.
  writeFileSync(join(root, 'generated/README'), 'kept\n');
  return root;
}



function runCliAsync(root: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface Case {
  name: string;
  files: Spec;
  /** Run after the files are written (names that are not UTF-8, removals). */
  setup?: (root: string) => void;
  /** The diagnostics, sorted, without the summary line. */
  expected: string[];
}

const df = 'FROM scratch\n';
const TAG_EXPECTED = 'expected at most 128 letters, digits, "_", "." or "-" not starting with "." or "-"';
const REF_EXPECTED = 'expected [registry/]name[:tag][@digest] in lowercase (REGISTRY may stand for the registry)';
const NAME_EXPECTED = 'expected lowercase [a-z0-9] words joined by ".", "_", "__" or "-"';
const ARCH_LIST = 'amd64, arm64, arm, ppc64le, s390x, 386, riscv64, mips64le, loong64';
const IMAGE_KEYS = 'name, version, platforms, baseImage, buildArgs, labels, groups, dependsOn, mirror, promote, title, description, licenses, url';

export const CASES: Case[] = [
  // BASEIMAGE
  {
    name: 'BASEIMAGE line without "="',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': '# bases\nlinux/amd64 busybox:1.36\n' },
    expected: ['images/b/BASEIMAGE:2: no "=" in line, expected os/arch[/os_version]=image-ref, found "linux/amd64 busybox:1.36"'],
  },
  {
    name: 'BASEIMAGE key of the wrong shape',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': 'linux-amd64=busybox:1.36\n' },
    expected: ['images/b/BASEIMAGE:1: invalid platform key: expected os/arch or os/arch/os_version (e.g. linux/amd64, windows/amd64/ltsc2022), found "linux-amd64"'],
  },
  {
    name: 'BASEIMAGE unknown OS',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': 'linux/amd64=busybox:1.36\nfreebsd/amd64=busybox:1.36\n' },
    expected: ['images/b/BASEIMAGE:2: invalid platform key: unknown OS "freebsd", expected one of linux, windows'],
  },
  {
    name: 'BASEIMAGE unknown architecture',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': 'linux/sparc64=busybox:1.36\n' },
    expected: [`images/b/BASEIMAGE:1: invalid platform key: unknown architecture "sparc64", expected one of ${ARCH_LIST}`],
  },
  {
    name: 'BASEIMAGE duplicate key',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': 'linux/amd64=busybox:1.36\nlinux/arm64=busybox:1.36\nlinux/x86_64=alpine:3\n' },
    expected: ['images/b/BASEIMAGE:3: duplicate platform linux/amd64, expected each platform once, found it again (first on line 1)'],
  },
  {
    name: 'BASEIMAGE empty reference',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': 'linux/amd64=\n' },
    expected: ['images/b/BASEIMAGE:1: the base image of linux/amd64 is empty, expected an image reference such as busybox:1.36, found nothing'],
  },
  {
    name: 'BASEIMAGE invalid reference',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': 'linux/amd64=busybox:1.36;touch x\n' },
    expected: [`images/b/BASEIMAGE:1: the base image of linux/amd64 is not a valid image reference, ${REF_EXPECTED}, found "busybox:1.36;touch x"`],
  },
  {
    name: 'BASEIMAGE Windows without os_version',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': 'windows/amd64=mcr.microsoft.com/windows/nanoserver:ltsc2022\n' },
    expected: [
      'images/b/BASEIMAGE:1: invalid platform key: a Windows platform needs an os_version, expected windows/amd64/<os_version> (e.g. windows/amd64/ltsc2022), found "windows/amd64"',
    ],
  },
  {
    name: 'BASEIMAGE with a NUL byte',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': Buffer.from('linux/amd64=busybox\nlinux/arm64=busy\0box\n') },
    expected: ['images/b/BASEIMAGE:2: is not text, expected printable characters, found the control byte 0x00'],
  },
  {
    name: 'BASEIMAGE that is not UTF-8',
    files: { 'images/b/Dockerfile': df, 'images/b/BASEIMAGE': Buffer.concat([Buffer.from('linux/amd64=busybox\nlinux/arm64=b'), Buffer.from([0xe9]), Buffer.from('\n')]) },
    expected: ['images/b/BASEIMAGE:2: is not text, expected UTF-8 text, found bytes that are not valid UTF-8'],
  },
  // VERSION and ALIAS
  {
    name: 'VERSION empty',
    files: { 'images/v/Dockerfile': df, 'images/v/VERSION': '\n\n' },
    expected: ['images/v/VERSION:1: is empty, expected one line holding the image tag, found nothing'],
  },
  {
    name: 'VERSION on several lines',
    files: { 'images/v/Dockerfile': df, 'images/v/VERSION': '1.0\n\n2.0\n' },
    expected: ['images/v/VERSION:3: has several lines, expected one line holding the image tag, found 2 lines'],
  },
  {
    name: 'VERSION not a tag',
    files: { 'images/v/Dockerfile': df, 'images/v/VERSION': '1.0 beta\n' },
    expected: [`images/v/VERSION:1: invalid tag, ${TAG_EXPECTED}, found "1.0 beta"`],
  },
  {
    name: 'VERSION longer than 128 characters',
    files: { 'images/v/Dockerfile': df, 'images/v/VERSION': `${'1'.repeat(129)}\n` },
    expected: [`images/v/VERSION:1: invalid tag, ${TAG_EXPECTED}, found "${'1'.repeat(129)}"`],
  },
  {
    name: 'VERSION holding make and shell syntax',
    files: { 'images/v/Dockerfile': df, 'images/v/VERSION': '$(shell touch CANARY)\n' },
    expected: [`images/v/VERSION:1: invalid tag, ${TAG_EXPECTED}, found "$(shell touch CANARY)"`],
  },
  {
    name: 'ALIAS not a repository name',
    files: { 'images/a/Dockerfile': df, 'images/a/ALIAS': 'Web/Server\n' },
    expected: ['images/a/ALIAS:1: invalid repository name, expected lowercase [a-z0-9] components joined by ".", "_", "__" or "-", separated by "/", found "Web/Server"'],
  },
  // Folder names
  {
    name: 'folder name with capitals',
    files: { 'images/Web/Dockerfile': df },
    expected: [`images/Web: folder name is not a valid repository path, ${NAME_EXPECTED}, found "Web"`],
  },
  {
    name: 'nested folder name with "$" and a space',
    files: { 'images/tools/a $x/Dockerfile': df },
    expected: [`images/tools/a $x: folder name is not a valid repository path, ${NAME_EXPECTED}, found "a $x"`],
  },
  {
    name: 'folder name holding a line break (shown escaped, on one line)',
    files: { 'images/a\nb/Dockerfile': df },
    expected: [`images/a\\nb: folder name is not a valid repository path, ${NAME_EXPECTED}, found "a\\nb"`],
  },
  {
    name: 'folder name clashing with build-all-images',
    files: { 'images/all-images/Dockerfile': df },
    expected: ['images/all-images: folder name clashes with the targets build-all-images, push-all-images and load-all-images, expected another name, found "all-images"'],
  },
  // image.yaml
  {
    name: 'image.yaml syntax error',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'version: "1.0"\nlabels: {a: 1\nplatforms: []\n' },
    expected: [expect.stringMatching(/^images\/y\/image\.yaml:[23]: YAML syntax error, expected valid YAML, found: /) as unknown as string],
  },
  {
    name: 'image.yaml unknown key',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'version: "1.0"\ncolour: red\n' },
    expected: [`images/y/image.yaml:2: unknown key "colour" in the top level, expected one of ${IMAGE_KEYS}`],
  },
  {
    name: 'image.yaml wrong type',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'version: "1.0"\nplatforms: linux/amd64\npromote: "no"\n' },
    expected: [
      'images/y/image.yaml:2: platforms has the wrong type, expected array, found the string "linux/amd64"',
      'images/y/image.yaml:3: promote has the wrong type, expected boolean, found the string "no"',
    ],
  },
  {
    name: 'image.yaml duplicate key',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'labels:\n  a: x\nversion: "1"\nversion: "2"\n' },
    expected: ['images/y/image.yaml:4: duplicate key "version", expected each key once, found it again (first on line 3)'],
  },
  {
    name: 'image.yaml top level a list',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': '# metadata\n- version: "1.0"\n' },
    expected: ['images/y/image.yaml:2: the top level is not a mapping, expected keys such as version: or platforms:, found a list'],
  },
  {
    name: 'image.yaml version disagreeing with VERSION',
    files: { 'images/y/Dockerfile': df, 'images/y/VERSION': '1.0\n', 'images/y/image.yaml': 'groups: [tools]\nversion: "1.1"\n' },
    expected: ['images/y/image.yaml:2: version disagrees with VERSION, expected "1.0" as in images/y/VERSION, found "1.1"'],
  },
  {
    name: 'image.yaml name disagreeing with ALIAS',
    files: { 'images/y/Dockerfile': df, 'images/y/ALIAS': 'web\n', 'images/y/image.yaml': 'name: www\n' },
    expected: ['images/y/image.yaml:1: name disagrees with ALIAS, expected "web" as in images/y/ALIAS, found "www"'],
  },
  {
    name: 'image.yaml baseImage disagreeing with BASEIMAGE',
    files: {
      'images/y/Dockerfile': df,
      'images/y/BASEIMAGE': 'linux/amd64=busybox:1.36\n',
      'images/y/image.yaml': 'version: "1"\nbaseImage:\n  linux/amd64: busybox:1.37\n',
    },
    expected: ['images/y/image.yaml:2: baseImage disagrees with BASEIMAGE, expected linux-amd64=busybox:1.36 as in images/y/BASEIMAGE, found linux-amd64=busybox:1.37'],
  },
  {
    name: 'image.yaml invalid platform',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'platforms:\n  - linux/amd64\n  - linux/amd64/\n' },
    expected: ['images/y/image.yaml:3: invalid platform: expected os/arch or os/arch/os_version (e.g. linux/amd64, windows/amd64/ltsc2022), found "linux/amd64/"'],
  },
  {
    name: 'image.yaml invalid group',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'groups:\n  - e2e\n  - "e2e tests"\n' },
    expected: ['images/y/image.yaml:3: invalid group name, expected lowercase letters, digits, ".", "_" or "-" (and "/"), found "e2e tests"'],
  },
  {
    name: 'image.yaml invalid mirror reference',
    files: { 'images/m/image.yaml': 'mirror: "docker.io/library/busybox:1.36 && touch x"\n' },
    expected: [`images/m/image.yaml:1: mirror is not a valid image reference, ${REF_EXPECTED}, found "docker.io/library/busybox:1.36 && touch x"`],
  },
  {
    name: 'image.yaml mirror beside a Dockerfile',
    files: { 'images/m/Dockerfile': df, 'images/m/image.yaml': 'promote: false\nmirror: docker.io/library/busybox:1.36\n' },
    expected: ['images/m/image.yaml:2: mirror: is set together with Dockerfile, expected either an upstream mirror or a Dockerfile, found both'],
  },
  {
    name: 'image.yaml with neither a Dockerfile nor mirror',
    files: { 'images/m/image.yaml': 'version: "1.0"\n' },
    expected: ['images/m/image.yaml: no Dockerfile and no mirror:, expected a Dockerfile (or Dockerfile_windows, Dockerfile.<arch>) beside image.yaml, or mirror: <upstream image>'],
  },
  {
    name: 'image.yaml dependsOn naming no image',
    files: { 'images/d/Dockerfile': df, 'images/d/image.yaml': 'dependsOn:\n  - good\n  - tools/missing\n' },
    expected: ['images/d/image.yaml:3: dependsOn names no image of this tree, expected a folder name below images/ such as "good", found "tools/missing"'],
  },
  {
    name: 'image.yaml buildArgs value holding a newline',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'buildArgs:\n  GREETING: "hello\\nworld"\n' },
    expected: ['images/y/image.yaml:2: buildArgs.GREETING spans several lines, expected a single-line value, found a line break'],
  },
  {
    name: 'image.yaml label value holding a block scalar',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'labels:\n  note: |\n    one\n    two\n' },
    expected: ['images/y/image.yaml:2: labels.note spans several lines, expected a single-line value, found a line break'],
  },
  {
    name: 'image.yaml buildArgs key that is not a name',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'buildArgs:\n  "A;B": x\n' },
    expected: ['images/y/image.yaml:2: buildArgs has an invalid key, expected a name matching ^[A-Za-z_][A-Za-z0-9_]*$, found "A;B"'],
  },
  {
    name: 'image.yaml buildArgs setting BASEIMAGE',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'buildArgs:\n  BASEIMAGE: busybox\n' },
    expected: ['images/y/image.yaml:2: buildArgs.BASEIMAGE is set by mkimages, expected another name, found BASEIMAGE'],
  },
  {
    name: 'image.yaml platforms disagreeing with BASEIMAGE',
    files: { 'images/y/Dockerfile': df, 'images/y/BASEIMAGE': 'linux/amd64=busybox:1.36\n', 'images/y/image.yaml': 'platforms: [linux/amd64, linux/arm64]\n' },
    expected: ['images/y/image.yaml:1: platforms disagree with the base images, expected linux-amd64 (the keys of images/y/BASEIMAGE), found linux-amd64, linux-arm64'],
  },
  {
    name: 'image.yaml Windows platform without os_version',
    files: { 'images/y/Dockerfile_windows': df, 'images/y/image.yaml': 'platforms:\n  - windows/amd64\n' },
    expected: [
      'images/y/image.yaml:2: invalid platform: a Windows platform needs an os_version, expected windows/amd64/<os_version> (e.g. windows/amd64/ltsc2022), found "windows/amd64"',
    ],
  },
  {
    name: 'image.yaml alias naming no anchor',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'version: &v "1"\nname: *n\n' },
    expected: ['images/y/image.yaml:2: the alias *n names no anchor, expected an anchor &n set before it, found none'],
  },
  {
    name: 'image.yaml list as a key',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'version: "1"\n? [a, b]\n: 1\n' },
    expected: ['images/y/image.yaml:2: a key is a list or mapping, expected a plain key such as version, found a complex key'],
  },
  {
    name: 'image.yaml platform without a Dockerfile for it',
    files: { 'images/y/Dockerfile.amd64': df, 'images/y/image.yaml': 'platforms:\n  - linux/amd64\n  - linux/arm64\n' },
    expected: ['images/y/image.yaml:3: no Dockerfile for linux/arm64 (listed in platforms), expected one of Dockerfile.arm64, Dockerfile.aarch64, Dockerfile in images/y, found only Dockerfile.amd64'],
  },
  {
    name: 'image.yaml title holding a control character',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'version: "1"\ntitle: "Web\\aserver"\n' },
    expected: ['images/y/image.yaml:2: title holds a line break or control character, expected one line of printable text, found "Web\\u0007server"'],
  },
  {
    name: 'image.yaml description on several lines',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'description: |\n  Serves pages.\n  Fast.\n' },
    expected: ['images/y/image.yaml:1: description holds a line break or control character, expected one line of printable text, found "Serves pages.\\nFast.\\n"'],
  },
  {
    name: 'image.yaml licenses empty',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'title: Web\nlicenses: " "\n' },
    expected: ['images/y/image.yaml:2: licenses is empty, expected one line of text, found " "'],
  },
  {
    name: 'image.yaml url that is not http(s)',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'url: ftp://example.dev/web\n' },
    expected: ['images/y/image.yaml:1: url is not an http(s) URL, expected https://host/path (or http://), found "ftp://example.dev/web"'],
  },
  {
    name: 'image.yaml url holding a space and shell syntax',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'title: Web\nurl: "https://example.dev/$(touch CANARY) x"\n' },
    expected: ['images/y/image.yaml:2: url is not an http(s) URL, expected https://host/path (or http://), found "https://example.dev/$(touch CANARY) x"'],
  },
  {
    name: 'image.yaml title that is not a string',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'title: 42\n' },
    expected: ['images/y/image.yaml:1: title has the wrong type, expected string, found number 42'],
  },
  {
    name: 'image.yaml title also given as a label',
    files: { 'images/y/Dockerfile': df, 'images/y/image.yaml': 'title: Web\nlabels:\n  org.opencontainers.image.title: Other\n' },
    expected: ['images/y/image.yaml:3: labels.org.opencontainers.image.title is set together with title, expected the value once (title: sets the label), found both'],
  },
  // Dockerfiles
  {
    name: 'empty Dockerfile',
    files: { 'images/e/Dockerfile': '\r\n\r\n' },
    expected: ['images/e/Dockerfile:1: is empty, expected a Dockerfile starting with FROM, found nothing'],
  },
  {
    name: 'Dockerfile without FROM',
    files: { 'images/e/Dockerfile': '# syntax=docker/dockerfile:1\nARG X=1\nRUN echo $X\n' },
    expected: ['images/e/Dockerfile:2: has no FROM, expected a FROM instruction before any other, found ARG'],
  },
  {
    name: 'Dockerfile.<arch> without FROM',
    files: { 'images/e/Dockerfile': df, 'images/e/Dockerfile.arm64': '# later\n' },
    expected: ['images/e/Dockerfile.arm64:1: has no FROM, expected a FROM instruction before any other, found only comments'],
  },
  {
    name: 'Dockerfile with a control byte',
    files: { 'images/e/Dockerfile': 'FROM scratch\nLABEL a=\u001b[31m\n' },
    expected: ['images/e/Dockerfile:2: is not text, expected printable characters, found the control byte 0x1b'],
  },
  {
    name: 'Dockerfile_windows only, with the default (Linux) platforms',
    files: { 'images/w/Dockerfile_windows': 'FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\n' },
    expected: [
      "images/w/Dockerfile_windows: cannot build the repository's default platforms linux/amd64 (the image names no platforms), expected a Dockerfile or Dockerfile.<arch> for them, or the image's platforms in BASEIMAGE or image.yaml platforms:, found only Dockerfile_windows",
    ],
  },
  {
    name: 'Dockerfile that is a symbolic link',
    files: { 'images/l/Dockerfile': { link: '../good/Dockerfile' } },
    expected: ['images/l/Dockerfile: is not a regular file, expected a regular file (mkimages never follows links), found a symbolic link to "../good/Dockerfile"'],
  },
  {
    name: 'VERSION that is a symbolic link',
    files: { 'images/l/Dockerfile': df, 'images/l/VERSION': { link: '../good/VERSION' } },
    expected: ['images/l/VERSION: is not a regular file, expected a regular file (mkimages never follows links), found a symbolic link to "../good/VERSION"'],
  },
  {
    name: 'Dockerfile directly in images/',
    files: { 'images/Dockerfile': df },
    expected: ['images/Dockerfile: is directly in images/, expected it inside an image folder such as images/<name>/'],
  },
  {
    name: 'file name that is not UTF-8',
    files: { 'images/n/Dockerfile': 'FROM scratch\nCOPY . /\n' },
    setup: (root) => writeFileSync(Buffer.concat([Buffer.from(join(root, 'images/n/')), Buffer.from([0x66, 0xe9, 0x74, 0x65])]), 'x'),
    expected: ['images/n/f\\xe9te: file name is not valid UTF-8, expected a UTF-8 name, found other bytes (shown as \\xNN)'],
  },
  // Across images
  {
    name: 'two folders publishing the same name and version',
    files: { 'images/web/Dockerfile': df, 'images/web/VERSION': '2.0\n', 'images/web-new/Dockerfile': df, 'images/web-new/ALIAS': 'web\n', 'images/web-new/VERSION': '\n2.0\n' },
    expected: ['images/web-new/VERSION:2: publishes web:2.0 like images/web, expected each published name and version once, found it twice'],
  },
  {
    name: 'dependency cycle',
    files: {
      'images/p/Dockerfile': df,
      'images/p/image.yaml': 'dependsOn: [q]\n',
      'images/q/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/r:1.0\n',
      'images/q/VERSION': '1.0\n',
      'images/r/BASEIMAGE': 'linux/amd64=REGISTRY/p:latest\n',
      'images/r/ALIAS': 'r\n',
      'images/r/VERSION': '1.0\n',
      'images/r/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\n',
      'images/p/VERSION': 'latest\n',
    },
    expected: ['images/p/image.yaml:1: dependency cycle, expected images built from one another without a loop, found p -> q -> r -> p (each built from the next)'],
  },
  {
    name: 'image depending on itself',
    files: { 'images/s/Dockerfile': df, 'images/s/image.yaml': '\ndependsOn:\n  - s\n' },
    expected: ['images/s/image.yaml:3: image s depends on itself, expected another image, found "s"'],
  },
  // Repository settings
  {
    name: 'images/mkimages.yaml unknown key',
    files: { 'images/mkimages.yaml': 'registry: example.dev/images\nregistery: typo.dev\n' },
    expected: ['images/mkimages.yaml:2: unknown key "registery" in the top level, expected one of defaultPlatforms, registry, localPrefix, source, windowsOsVersions, compatibility'],
  },
  {
    name: 'images/mkimages.yaml windowsOsVersions key holding make syntax',
    files: { 'images/mkimages.yaml': 'windowsOsVersions:\n  "x $(shell touch CANARY)": 10.0.1.2\n' },
    expected: ['images/mkimages.yaml:2: windowsOsVersions has an invalid key, expected a name matching ^[A-Za-z0-9][A-Za-z0-9._]*$, found "x $(shell touch CANARY)"'],
  },
  {
    name: 'images/mkimages.yaml source holding shell syntax',
    files: { 'images/mkimages.yaml': 'source: "https://example.dev/repo;touch${IFS}CANARY"\n' },
    expected: ['images/mkimages.yaml:1: invalid source, expected a URL of letters, digits and . _ ~ : / @ % + = - (no query or fragment), found "https://example.dev/repo;touch${IFS}CANARY"'],
  },
  {
    name: 'images/mkimages.yaml invalid default platform',
    files: { 'images/mkimages.yaml': 'defaultPlatforms:\n  - linux/amd64\n  - darwin/arm64\n' },
    expected: ['images/mkimages.yaml:3: invalid platform in defaultPlatforms: unknown OS "darwin", expected one of linux, windows'],
  },
  {
    name: 'images/mkimages.yaml unknown compatibility',
    files: { 'images/mkimages.yaml': 'registry: example.dev/images\ncompatibility: kubernetes\n' },
    expected: ['images/mkimages.yaml:2: compatibility is not a known value, expected one of "gvisor", found the string "kubernetes"'],
  },
  {
    name: 'gVisor compatibility: a_b and a/b are one target',
    files: { 'images/mkimages.yaml': 'compatibility: gvisor\n', 'images/basic_alpine/Dockerfile': df, 'images/basic/alpine/Dockerfile': df },
    expected: [
      'images/basic_alpine: folder name clashes with images/basic/alpine under compatibility: gvisor (gVisor\'s targets write "/" as "_": load-basic_alpine), expected names that differ with "/" written "_", found "basic/alpine" and "basic_alpine"',
    ],
  },
  {
    name: 'gVisor compatibility: a top-level image holding images',
    files: { 'images/mkimages.yaml': 'compatibility: gvisor\n', 'images/tools/Dockerfile': df, 'images/tools/lister/Dockerfile': df, 'images/tools/a/b/Dockerfile': df },
    expected: [
      'images/tools: image folder holds other images, so under compatibility: gvisor load-tools would be both this image and the group of the images below it, expected images only in the folders below images/tools, or none below it, found 2 image(s) below it',
    ],
  },
  {
    name: 'no images/ folder at all',
    files: {},
    setup: (root) => rmSync(join(root, 'images'), { recursive: true }),
    expected: ['images: not found, expected a folder images/ with one folder per image'],
  },
];

const summary = (n: number) => `mkimages: ${n} error(s); generated/ was not changed`;

describe('bad input: exit 1, path:line messages, generated/ unchanged', () => {
  it('has about forty cases, each named once', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const root = validRoot();
    const before = snapshot(join(root, 'generated'));
    writeTree(root, c.files);
    c.setup?.(root);
    const r = runMain(root);
    expect(r.stderr.split('\n')).toEqual([...c.expected, summary(c.expected.length), '']);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
    expect(snapshot(join(root, 'generated'))).toEqual(before);
  });

  // The program itself (dist/generator/cli.js), on a few of the cases.
  const spawned = ['BASEIMAGE that is not UTF-8', 'image.yaml duplicate key', 'file name that is not UTF-8', 'no images/ folder at all'];
  it.concurrent.each(CASES.filter((c) => spawned.includes(c.name)).map((c) => [c.name, c] as const))('node cli.js: %s', async (_name, c) => {
    const root = validRoot();
    const before = snapshot(join(root, 'generated'));
    writeTree(root, c.files);
    c.setup?.(root);
    const r = await runCliAsync(root);
    expect(r.stderr.split('\n')).toEqual([...c.expected, summary(c.expected.length), '']);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
    expect(snapshot(join(root, 'generated'))).toEqual(before);
  });

  it('reports the problems of every image in one run, sorted by file and line', async () => {
    const root = validRoot();
    const before = snapshot(join(root, 'generated'));
    writeTree(root, {
      'images/a/Dockerfile': df,
      'images/a/VERSION': '1.0 beta\n',
      'images/b/Dockerfile': df,
      'images/b/BASEIMAGE': 'linux/amd64=\nlinux/amd64 alpine\n',
      'images/c/Dockerfile': '',
      'images/c/image.yaml': 'version: "1"\ncolour: red\n',
      'images/Z/Dockerfile': df,
    });
    const r = await runCliAsync(root);
    expect(r.stderr.split('\n')).toEqual([
      `images/Z: folder name is not a valid repository path, ${NAME_EXPECTED}, found "Z"`,
      `images/a/VERSION:1: invalid tag, ${TAG_EXPECTED}, found "1.0 beta"`,
      'images/b/BASEIMAGE:1: the base image of linux/amd64 is empty, expected an image reference such as busybox:1.36, found nothing',
      'images/b/BASEIMAGE:2: no "=" in line, expected os/arch[/os_version]=image-ref, found "linux/amd64 alpine"',
      `images/c/image.yaml:2: unknown key "colour" in the top level, expected one of ${IMAGE_KEYS}`,
      summary(5),
      '',
    ]);
    expect(r.status).toBe(1);
    expect(snapshot(join(root, 'generated'))).toEqual(before);
  });

  it('--check with errors also exits 1 and writes nothing', () => {
    const root = validRoot();
    const before = snapshot(join(root, 'generated'));
    writeTree(root, { 'images/v/Dockerfile': df, 'images/v/VERSION': '\n' });
    const r = runMain(root, '--check');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('images/v/VERSION:1: is empty');
    expect(snapshot(join(root, 'generated'))).toEqual(before);
  });
});

describe('warnings print the same way and do not fail', () => {
  it('a reference to an in-tree image with a tag it does not publish, and a misnamed image.yml', () => {
    const root = validRoot();
    writeTree(root, {
      'images/child/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\n',
      'images/child/BASEIMAGE': '# the parent\n\nlinux/amd64=REGISTRY/good:2.0\n',
      'images/child/image.yml': 'version: "1.0"\n',
    });
    const r = runMain(root);
    expect(r.stderr.split('\n')).toEqual([
      'images/child/BASEIMAGE:3: warning: "REGISTRY/good:2.0" names the in-tree image "good" with a tag it does not publish, so it is treated as an external image, expected the tag "1.0", found "2.0"',
      'images/child/image.yml: warning: is not read, expected the name image.yaml, found "image.yml"',
      '',
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^mkimages: 2 image\(s\); wrote generated\//);
  });

  it('an empty images/ is a warning: a new repository has no image yet, and its empty Makefile is valid', () => {
    const root = makeTree({ 'images/.gitkeep': '' }, 'mkimages-bad-');
    roots.push(root);
    const r = runMain(root);
    expect(r.stderr).toBe('images: warning: holds no image, expected folders holding a Dockerfile, Dockerfile_windows, Dockerfile.<arch> or image.yaml, found none\n');
    expect(r.status).toBe(0);
    expect(readdirSync(join(root, 'generated')).sort()).toEqual(['images.json', 'images.md', 'images.mk', 'mkimages.sh']);
  });

  it('a folder whose only Dockerfile has an unknown suffix is no image, with a warning', () => {
    const root = validRoot();
    writeTree(root, { 'images/x/Dockerfile.sparc': df });
    const r = runMain(root);
    expect(r.stderr).toBe(
      `images/x/Dockerfile.sparc: warning: is not read, so images/x is not an image, expected Dockerfile, Dockerfile_windows or Dockerfile.<arch> (${ARCH_LIST}, x86_64, aarch64), found "Dockerfile.sparc"\n`,
    );
    expect(r.status).toBe(0);
  });
});

describe('accepted as written', () => {
  it('CRLF line endings, a byte-order mark and trailing blank lines', () => {
    const root = validRoot();
    writeTree(root, {
      'images/crlf/Dockerfile': 'ARG BASEIMAGE\r\nFROM $BASEIMAGE\r\nCOPY a.txt /\r\n\r\n',
      'images/crlf/BASEIMAGE': '# bases\r\nlinux/amd64=busybox:1.36\r\nlinux/arm64=busybox:1.36\r\n\r\n\r\n',
      'images/crlf/VERSION': '\uFEFF1.2.3\r\n\r\n',
      'images/crlf/ALIAS': 'crlf-alias\r\n\r\n',
      'images/crlf/image.yaml': 'version: "1.2.3"\r\nlabels:\r\n  a: b\r\n\r\n',
      'images/crlf/a.txt': 'a\r\n',
    });
    const r = runMain(root);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const catalog = JSON.parse(readFileSync(join(root, 'generated/images.json'), 'utf8')) as { images: Array<{ name: string; version: string; publishedName: string; platforms: string[] }> };
    expect(catalog.images.find((i) => i.name === 'crlf')).toMatchObject({ version: '1.2.3', publishedName: 'crlf-alias', platforms: ['linux/amd64', 'linux/arm64'] });
  });

  it('symbolic links in a build context (a loop, one outside the tree) are hashed as links, never followed', () => {
    const root = validRoot();
    writeTree(root, { 'images/links/Dockerfile': 'FROM scratch\nCOPY . /\n' });
    symlinkSync('loop', join(root, 'images/links/loop'));
    symlinkSync('/etc/passwd', join(root, 'images/links/passwd'));
    symlinkSync('..', join(root, 'images/links/up'));
    const r = runMain(root);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const f of ['images.mk', 'images.json', 'images.md']) expect(readFileSync(join(root, 'generated', f), 'utf8')).not.toContain('root:');
  });
});
