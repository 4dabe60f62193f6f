import { describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../../generator/diagnostics.js';
import { parseBaseimage } from '../../generator/parse/baseimage.js';
import { expandArgs, parseDockerfile } from '../../generator/parse/dockerfile.js';
import { parsePlatform, parseReference, REPOSITORY_PATH, TAG_RE } from '../../generator/parse/grammar.js';
import { parseAlias, parseVersion } from '../../generator/parse/single-line.js';
import { parseYamlFile } from '../../generator/parse/yaml-file.js';
import { loadSchemas } from '../../generator/schemas.js';

const buf = (s: string) => Buffer.from(s, 'utf8');

function messages(d: Diagnostics): string[] {
  return d.sorted().map(formatDiagnostic);
}

describe('BASEIMAGE', () => {
  it('reads Linux and Windows entries, skipping comments and blank lines, with CRLF', () => {
    const d = new Diagnostics();
    const entries = parseBaseimage(
      'images/x/BASEIMAGE',
      buf('# bases\r\nlinux/amd64=REGISTRY/busybox:1.0-linux-amd64\r\n\r\nlinux/arm64=arm64v8/busybox:1.36\r\nwindows/amd64/ltsc2022=mcr.microsoft.com/windows/nanoserver:ltsc2022\r\nlinux/amd64/ltsc2022=REGISTRY/cache:1.0-linux-amd64-ltsc2022\r\n\r\n'),
      d,
    );
    expect(messages(d)).toEqual([]);
    expect(entries.map((e) => [e.platform.os, e.platform.arch, e.platform.osVersion, e.ref, e.line])).toEqual([
      ['linux', 'amd64', undefined, 'REGISTRY/busybox:1.0-linux-amd64', 2],
      ['linux', 'arm64', undefined, 'arm64v8/busybox:1.36', 4],
      ['windows', 'amd64', 'ltsc2022', 'mcr.microsoft.com/windows/nanoserver:ltsc2022', 5],
      ['linux', 'amd64', 'ltsc2022', 'REGISTRY/cache:1.0-linux-amd64-ltsc2022', 6],
    ]);
  });

  it('reports every malformed line with its line number', () => {
    const d = new Diagnostics();
    parseBaseimage(
      'images/x/BASEIMAGE',
      buf('linux/amd64 busybox\nfreebsd/amd64=a\nlinux/sparc=a\nlinux/amd64=busybox\nlinux/amd64=alpine\nwindows/amd64=nano\nlinux/arm64=\nlinux/arm=Bad Ref\n'),
      d,
    );
    expect(messages(d)).toEqual([
      'images/x/BASEIMAGE:1: no "=" in line, expected os/arch[/os_version]=image-ref, found "linux/amd64 busybox"',
      'images/x/BASEIMAGE:2: invalid platform key: unknown OS "freebsd", expected one of linux, windows',
      'images/x/BASEIMAGE:3: invalid platform key: unknown architecture "sparc", expected one of amd64, arm64, arm, ppc64le, s390x, 386, riscv64, mips64le, loong64',
      'images/x/BASEIMAGE:5: duplicate platform linux/amd64, expected each platform once, found it again (first on line 4)',
      'images/x/BASEIMAGE:6: invalid platform key: a Windows platform needs an os_version, expected windows/amd64/<os_version> (e.g. windows/amd64/ltsc2022), found "windows/amd64"',
      'images/x/BASEIMAGE:7: the base image of linux/arm64 is empty, expected an image reference such as busybox:1.36, found nothing',
      'images/x/BASEIMAGE:8: the base image of linux/arm is not a valid image reference, expected [registry/]name[:tag][@digest] in lowercase (REGISTRY may stand for the registry), found "Bad Ref"',
    ]);
  });

  it('rejects bytes that are not text', () => {
    const d = new Diagnostics();
    parseBaseimage('images/x/BASEIMAGE', Buffer.from([0x6c, 0x00, 0x0a]), d);
    expect(messages(d)).toEqual(['images/x/BASEIMAGE:1: is not text, expected printable characters, found the control byte 0x00']);
    const d2 = new Diagnostics();
    parseBaseimage('images/x/BASEIMAGE', Buffer.from([0xff, 0xfe, 0x41]), d2);
    expect(messages(d2)).toEqual(['images/x/BASEIMAGE:1: is not text, expected UTF-8 text, found bytes that are not valid UTF-8']);
  });
});

describe('VERSION and ALIAS', () => {
  it('accept one line with CRLF and trailing blank lines', () => {
    const d = new Diagnostics();
    expect(parseVersion('v', buf('1.0.3\r\n\r\n\n'), d)?.value).toBe('1.0.3');
    expect(parseAlias('a', buf('httpd\n'), d)?.value).toBe('httpd');
    expect(messages(d)).toEqual([]);
  });

  it('report empty, several lines, invalid tag and invalid name', () => {
    const d = new Diagnostics();
    parseVersion('images/a/VERSION', buf('\n\n'), d);
    parseVersion('images/b/VERSION', buf('1.0\n2.0\n'), d);
    parseVersion('images/c/VERSION', buf('-bad\n'), d);
    parseVersion('images/d/VERSION', buf(`${'a'.repeat(129)}\n`), d);
    parseAlias('images/e/ALIAS', buf('Not/Valid\n'), d);
    expect(messages(d)).toEqual([
      'images/a/VERSION:1: is empty, expected one line holding the image tag, found nothing',
      'images/b/VERSION:2: has several lines, expected one line holding the image tag, found 2 lines',
      'images/c/VERSION:1: invalid tag, expected at most 128 letters, digits, "_", "." or "-" not starting with "." or "-", found "-bad"',
      `images/d/VERSION:1: invalid tag, expected at most 128 letters, digits, "_", "." or "-" not starting with "." or "-", found "${'a'.repeat(129)}"`,
      'images/e/ALIAS:1: invalid repository name, expected lowercase [a-z0-9] components joined by ".", "_", "__" or "-", separated by "/", found "Not/Valid"',
    ]);
  });
});

describe('image.yaml', () => {
  it('points at the line of the offending node', () => {
    const d = new Diagnostics();
    parseYamlFile('images/x/image.yaml', buf('version: "1.0"\nbuildArgs:\n  GOOD: x\n  NESTED: {a: 1}\nunknown: 3\nplatforms: linux/amd64\n'), loadSchemas().image, d);
    expect(messages(d)).toEqual([
      'images/x/image.yaml:4: buildArgs.NESTED has the wrong type, expected string or number or boolean, found a mapping',
      'images/x/image.yaml:5: unknown key "unknown" in the top level, expected one of name, version, platforms, baseImage, buildArgs, labels, groups, dependsOn, mirror, promote, title, description, licenses, url',
      'images/x/image.yaml:6: platforms has the wrong type, expected array, found the string "linux/amd64"',
    ]);
  });

  it('reports syntax errors, duplicate keys and a top level that is not a mapping', () => {
    const d = new Diagnostics();
    parseYamlFile('images/a/image.yaml', buf('version: 1.0\nversion: 2.0\n'), loadSchemas().image, d);
    parseYamlFile('images/b/image.yaml', buf('groups: [a, b\n'), loadSchemas().image, d);
    parseYamlFile('images/c/image.yaml', buf('# comment\n- a\n- b\n'), loadSchemas().image, d);
    const out = messages(d);
    expect(out[0]).toBe('images/a/image.yaml:2: duplicate key "version", expected each key once, found it again (first on line 1)');
    expect(out[1]).toMatch(/^images\/b\/image.yaml:\d+: YAML syntax error, expected valid YAML, found: /);
    expect(out[2]).toBe('images/c/image.yaml:2: the top level is not a mapping, expected keys such as version: or platforms:, found a list');
  });

  it('accepts an empty file', () => {
    const d = new Diagnostics();
    expect(parseYamlFile('f', buf('# only a comment\n'), loadSchemas().image, d)?.value).toEqual({});
    expect(messages(d)).toEqual([]);
  });
});

describe('Dockerfile', () => {
  it('finds stages, platforms, global ARGs and instructions with lines', () => {
    const d = new Diagnostics();
    const df = parseDockerfile(
      'images/x/Dockerfile_windows',
      buf('ARG BASEIMAGE=busybox\nARG REGISTRY\nFROM --platform=linux/amd64 $REGISTRY/cache:1.0-linux-amd64-${OS_VERSION} AS prep\nRUN echo \\\n  hi\nFROM $BASEIMAGE\nCOPY --from=prep /a /b\n'),
      d,
    )!;
    expect(messages(d)).toEqual([]);
    expect(df.stages).toEqual([
      { line: 3, image: '$REGISTRY/cache:1.0-linux-amd64-${OS_VERSION}', platform: 'linux/amd64', alias: 'prep' },
      { line: 6, image: '$BASEIMAGE', platform: undefined, alias: undefined },
    ]);
    expect([...df.globalArgs]).toEqual([['BASEIMAGE', 'busybox'], ['REGISTRY', undefined]]);
    expect(df.instructions.map((i) => `${i.keyword}@${i.line}/${i.stage}`)).toEqual(['ARG@1/-1', 'ARG@2/-1', 'FROM@3/0', 'RUN@4/0', 'FROM@6/1', 'COPY@7/1']);
  });

  it('reports an empty Dockerfile and one without FROM', () => {
    const d = new Diagnostics();
    parseDockerfile('images/a/Dockerfile', buf('\n  \n'), d);
    parseDockerfile('images/b/Dockerfile', buf('# c\nRUN true\n'), d);
    expect(messages(d)).toEqual([
      'images/a/Dockerfile:1: is empty, expected a Dockerfile starting with FROM, found nothing',
      'images/b/Dockerfile:2: has no FROM, expected a FROM instruction before any other, found RUN',
    ]);
  });

  it('expands build args as Docker does in FROM', () => {
    const args = new Map<string, string | undefined>([['A', 'x'], ['E', '']]);
    expect(expandArgs('$A/${A}/${E:-d}/${A:+y}/${U}/$U', args)).toBe('x/x/d/y//');
  });
});

describe('grammar', () => {
  it('knows references, tags, repository paths and platforms', () => {
    expect(parseReference('127.0.0.1:5000/ns/app:1.0')).toEqual({ domain: '127.0.0.1:5000', path: 'ns/app', tag: '1.0', digest: undefined });
    expect(parseReference('library/busybox:1.36')).toEqual({ domain: undefined, path: 'library/busybox', tag: '1.36', digest: undefined });
    expect(parseReference('Busybox')).toBeUndefined();
    expect(parseReference('a b')).toBeUndefined();
    expect(TAG_RE.test('1.0-linux_amd64')).toBe(true);
    expect(TAG_RE.test('.x')).toBe(false);
    expect(REPOSITORY_PATH.test('tools/lister')).toBe(true);
    expect(REPOSITORY_PATH.test('a__b/c-d.e')).toBe(true);
    expect(REPOSITORY_PATH.test('a_/b')).toBe(false);
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', arch: 'amd64', osVersion: undefined });
    expect(parsePlatform('windows/amd64/ltsc2022')).toEqual({ os: 'windows', arch: 'amd64', osVersion: 'ltsc2022' });
    expect(typeof parsePlatform('linux/amd64/a-b')).toBe('string');
  });
});
