import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../../generator/diagnostics.js';
import { buildModel } from '../../generator/model/build.js';
import { loadSchemas } from '../../generator/schemas.js';
import type { Model } from '../../generator/model/types.js';
import { readTree } from '../../generator/scan/tree.js';
import { makeTree, removeTree, type Spec } from '../support/tree.js';

const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));

function modelOf(files: Spec): { model: Model; messages: string[] } {
  const root = makeTree(files);
  roots.push(root);
  const d = new Diagnostics();
  const model = buildModel(readTree(root), d, loadSchemas());
  return { model, messages: d.sorted().map(formatDiagnostic) };
}
const img = (m: Model, name: string) => m.images.find((i) => i.name === name)!;

describe('dependency inference', () => {
  it('finds parents through BASEIMAGE, FROM $REGISTRY, FROM ${LOCAL_PREFIX} and dependsOn', () => {
    const { model, messages } = modelOf({
      'images/base/Dockerfile': 'FROM scratch\n',
      'images/base/VERSION': '1.0\n',
      'images/viabase/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\n',
      'images/viabase/BASEIMAGE': 'linux/amd64=REGISTRY/base:1.0-linux-amd64\n',
      'images/viafrom/Dockerfile': 'ARG REGISTRY\nFROM ${REGISTRY}/base:1.0 AS b\nFROM b\n',
      'images/vialocal/Dockerfile': 'ARG LOCAL_PREFIX\nFROM $LOCAL_PREFIX/viafrom:latest\n',
      'images/viadep/Dockerfile': 'FROM scratch\n',
      'images/viadep/image.yaml': 'dependsOn: [base]\n',
      'images/external/Dockerfile': 'ARG REGISTRY=registry.k8s.io\nFROM busybox:1.36\nFROM registry.k8s.io/pause:3.9\n',
    });
    expect(messages).toEqual([]);
    expect(img(model, 'viabase').parents).toEqual(['base']);
    expect(img(model, 'viabase').platforms[0].parents).toEqual([{ name: 'base', key: 'linux-amd64' }]);
    expect(img(model, 'viafrom').parents).toEqual(['base']);
    expect(img(model, 'vialocal').parents).toEqual(['viafrom']);
    expect(img(model, 'viadep').parents).toEqual(['base']);
    expect(img(model, 'external').parents).toEqual([]);
  });

  it('tells ALIASed versions apart by tag, and warns about a version the tree does not have', () => {
    const { model, messages } = modelOf({
      'images/httpd/Dockerfile': 'FROM scratch\n',
      'images/httpd/VERSION': '2.4.38\n',
      'images/httpd-new/Dockerfile': 'FROM scratch\n',
      'images/httpd-new/VERSION': '2.4.39\n',
      'images/httpd-new/ALIAS': 'httpd\n',
      'images/old/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/httpd:2.4.38\n',
      'images/new/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/httpd:2.4.39-linux-amd64\n',
      'images/gone/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/httpd:2.2\n',
    });
    expect(img(model, 'old').parents).toEqual(['httpd']);
    expect(img(model, 'new').parents).toEqual(['httpd-new']);
    expect(img(model, 'gone').parents).toEqual([]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^images\/gone\/Dockerfile:2: warning: "REGISTRY\/httpd:2\.2" names the in-tree image "httpd" .*treated as an external image.*"2\.4\.38" or "2\.4\.39"/);
  });

  it('reports a cycle naming every image on it', () => {
    const { messages } = modelOf({
      'images/a/Dockerfile': 'FROM scratch\n',
      'images/a/image.yaml': 'dependsOn: [c]\n',
      'images/b/Dockerfile': 'ARG LOCAL_PREFIX\nFROM $LOCAL_PREFIX/a\n',
      'images/c/Dockerfile': 'ARG LOCAL_PREFIX\nFROM $LOCAL_PREFIX/b\n',
      'images/d/Dockerfile': 'FROM scratch\n',
    });
    const cycles = messages.filter((m) => m.includes('cycle'));
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toMatch(/^images\/a\/image\.yaml:1: dependency cycle, .*found a -> c -> b -> a/);
  });
});

describe('groups', () => {
  it('come from folder nesting and from groups:', () => {
    const { model } = modelOf({
      'images/basic/alpine/Dockerfile': 'FROM scratch\n',
      'images/basic/alpine/image.yaml': 'groups: [conformance]\n',
      'images/basic/busybox/Dockerfile': 'FROM scratch\n',
      'images/solo/Dockerfile': 'FROM scratch\n',
    });
    expect([...model.groups]).toEqual([
      ['basic', ['basic/alpine', 'basic/busybox']],
      ['conformance', ['basic/alpine']],
    ]);
  });
});

describe('Windows Dockerfiles', () => {
  it('warn at RUN/WORKDIR in a Windows stage and at an unmarked Linux-only FROM, and pick Dockerfile_windows', () => {
    const { model, messages } = modelOf({
      'images/cache/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE AS core\nFROM scratch\nCOPY --from=core /a /a\n',
      'images/cache/BASEIMAGE': 'linux/amd64/ltsc2022=mcr.microsoft.com/windows/servercore:ltsc2022\n',
      'images/cache/VERSION': '1.0\n',
      'images/tool/BASEIMAGE': 'linux/amd64=busybox:1.36\nwindows/amd64/ltsc2022=mcr.microsoft.com/windows/nanoserver:ltsc2022\n',
      'images/tool/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\nRUN true\n',
      'images/tool/Dockerfile_windows': [
        'ARG BASEIMAGE',
        'ARG REGISTRY',
        'ARG OS_VERSION',
        'FROM $REGISTRY/cache:1.0-linux-amd64-$OS_VERSION AS helper',
        'RUN ls /',
        'FROM --platform=linux/amd64 busybox:1.36 AS prep',
        'RUN ln -s busybox /sh',
        'FROM $BASEIMAGE',
        'WORKDIR /app',
        'RUN echo hi',
        'COPY --from=helper /a /a',
        '',
      ].join('\n'),
    });
    expect(messages).toEqual([
      'images/tool/Dockerfile_windows:4: warning: FROM of the Linux-only image "$REGISTRY/cache:1.0-linux-amd64-$OS_VERSION" in a Windows build, expected FROM --platform=linux/amd64 (buildx takes an image with no --platform for a Windows one), found no --platform',
      'images/tool/Dockerfile_windows:5: warning: RUN in a Windows stage cannot work under buildx, expected it in a Linux stage (FROM --platform=linux/amd64 …) whose result is copied, or a remote Windows engine (REMOTE_DOCKER_URL_<os_version>), found RUN',
      'images/tool/Dockerfile_windows:9: warning: WORKDIR in a Windows stage cannot work under buildx, expected it in a Linux stage (FROM --platform=linux/amd64 …) whose result is copied, or a remote Windows engine (REMOTE_DOCKER_URL_<os_version>), found WORKDIR',
      'images/tool/Dockerfile_windows:10: warning: RUN in a Windows stage cannot work under buildx, expected it in a Linux stage (FROM --platform=linux/amd64 …) whose result is copied, or a remote Windows engine (REMOTE_DOCKER_URL_<os_version>), found RUN',
    ]);
    const tool = img(model, 'tool');
    expect(tool.platforms.map((p) => [p.key, p.dockerfile])).toEqual([
      ['linux-amd64', 'Dockerfile'],
      ['windows-amd64-ltsc2022', 'Dockerfile_windows'],
    ]);
    expect(tool.platforms[1].parents).toEqual([{ name: 'cache', key: 'linux-amd64-ltsc2022' }]);
    expect(img(model, 'cache').platforms.map((p) => p.key)).toEqual(['linux-amd64-ltsc2022']);
  });
});

describe('Kubernetes bin step', () => {
  it('stages images with a bin target or BASEARCH/CROSS_BUILD_ tokens', () => {
    const { model } = modelOf({
      'images/a/Dockerfile': 'FROM scratch\n',
      'images/a/Makefile': 'all:\n\ttrue\nbin:\n\ttrue\n',
      'images/b/Dockerfile': 'FROM BASEARCH/busybox\nCROSS_BUILD_COPY x y\n',
      'images/c/Dockerfile': 'FROM scratch\n',
      'images/c/Makefile': 'all:\n\ttrue\n',
    });
    expect(model.images.map((i) => [i.name, i.binStep, i.staged])).toEqual([
      ['a', true, true],
      ['b', false, true],
      ['c', false, false],
    ]);
  });
});

describe('Windows os.version', () => {
  it('comes from the built-in table, mkimages.yaml overrides it, and an unknown version is a warning naming it where it was declared', () => {
    const { model, messages } = modelOf({
      'images/mkimages.yaml': 'defaultPlatforms:\n  - linux/amd64\n  - windows/amd64/ltsc2030\nwindowsOsVersions:\n  ltsc2022: 10.0.20348.9999\n  insider: 10.0.27000.1\n',
      'images/k8s/BASEIMAGE': [
        'linux/amd64=busybox:1.36',
        'windows/amd64/1809=mcr.microsoft.com/windows/nanoserver:1809',
        'windows/amd64/1903=mcr.microsoft.com/windows/nanoserver:1903',
        'windows/amd64/1909=mcr.microsoft.com/windows/nanoserver:1909',
        'windows/amd64/2004=mcr.microsoft.com/windows/nanoserver:2004',
        'windows/amd64/20H2=mcr.microsoft.com/windows/nanoserver:20H2',
        'windows/amd64/ltsc2019=mcr.microsoft.com/windows/nanoserver:ltsc2019',
        'windows/amd64/ltsc2022=mcr.microsoft.com/windows/nanoserver:ltsc2022',
        'windows/amd64/ltsc2025=mcr.microsoft.com/windows/nanoserver:ltsc2025',
        'windows/amd64/insider=mcr.microsoft.com/windows/nanoserver:insider',
        'windows/amd64/21H1=mcr.microsoft.com/windows/nanoserver:21H1',
        '',
      ].join('\n'),
      'images/k8s/Dockerfile': 'ARG BASEIMAGE\nFROM $BASEIMAGE\n',
      'images/listed/Dockerfile_windows': 'FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\n',
      'images/listed/image.yaml': 'platforms:\n  - windows/amd64/ltsc2022\n  - windows/amd64/next\n',
      'images/linux/Dockerfile': 'FROM scratch\n',
    });
    const known = 'expected one of 1809, 1903, 1909, 2004, 20H2, ltsc2019, ltsc2022, ltsc2025, insider';
    const unknown = (v: string) =>
      `no full os.version is known for the Windows version "${v}" of windows/amd64/${v}, so make reads it from the base image's manifest (and stops if that does not say), ${known} or windowsOsVersions.${v} in images/mkimages.yaml, found "${v}"`;
    expect(messages).toEqual([
      `images/k8s/BASEIMAGE:11: warning: ${unknown('21H1')}`,
      `images/listed/image.yaml:3: warning: ${unknown('next')}`,
      `images/mkimages.yaml:3: warning: ${unknown('ltsc2030')}`,
    ]);
    expect(img(model, 'k8s').platforms.map((p) => [p.key, p.osVersionFull])).toEqual([
      ['linux-amd64', undefined],
      ['windows-amd64-1809', '10.0.17763.6659'],
      ['windows-amd64-1903', '10.0.18362.1256'],
      ['windows-amd64-1909', '10.0.18363.1556'],
      ['windows-amd64-2004', '10.0.19041.1415'],
      ['windows-amd64-20H2', '10.0.19042.1889'],
      ['windows-amd64-21H1', undefined],
      ['windows-amd64-insider', '10.0.27000.1'],
      ['windows-amd64-ltsc2019', '10.0.17763.6659'],
      ['windows-amd64-ltsc2022', '10.0.20348.9999'],
      ['windows-amd64-ltsc2025', '10.0.26100.2605'],
    ]);
    expect(img(model, 'listed').platforms.map((p) => [p.key, p.osVersionFull])).toEqual([
      ['windows-amd64-ltsc2022', '10.0.20348.9999'],
      ['windows-amd64-next', undefined],
    ]);
    expect(model.settings.windowsOsVersions.ltsc2022).toBe('10.0.20348.9999');
    expect(model.settings.windowsOsVersions['20H2']).toBe('10.0.19042.1889');
  });
});

describe('platforms follow the Dockerfiles', () => {
  it('Dockerfile.<arch> adds its architecture; default platforms apply where a plain Dockerfile covers them', () => {
    const { model, messages } = modelOf({
      'images/mkimages.yaml': 'defaultPlatforms: [linux/amd64, linux/arm64, windows/amd64/ltsc2022]\n',
      'images/x86only/Dockerfile.x86_64': 'FROM scratch\n',
      'images/armonly/Dockerfile.aarch64': 'FROM scratch\n',
      'images/both/Dockerfile.x86_64': 'FROM scratch\n',
      'images/both/Dockerfile.aarch64': 'FROM scratch\n',
      'images/plain/Dockerfile': 'FROM scratch\n',
      'images/override/Dockerfile': 'FROM scratch\n',
      'images/override/Dockerfile.aarch64': 'FROM scratch\n',
      'images/extra/Dockerfile': 'FROM scratch\n',
      'images/extra/Dockerfile.s390x': 'FROM scratch\n',
      'images/win/Dockerfile_windows': 'FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\n',
      'images/win/Dockerfile.amd64': 'FROM scratch\n',
    });
    expect(messages).toEqual([]);
    const dockerfiles = (name: string) => img(model, name).platforms.map((p) => `${p.key}=${p.dockerfile}`);
    expect(dockerfiles('x86only')).toEqual(['linux-amd64=Dockerfile.x86_64']);
    expect(dockerfiles('armonly')).toEqual(['linux-arm64=Dockerfile.aarch64']);
    expect(dockerfiles('both')).toEqual(['linux-amd64=Dockerfile.x86_64', 'linux-arm64=Dockerfile.aarch64']);
    expect(dockerfiles('plain')).toEqual(['linux-amd64=Dockerfile', 'linux-arm64=Dockerfile', 'windows-amd64-ltsc2022=Dockerfile']);
    expect(dockerfiles('override')).toEqual(['linux-amd64=Dockerfile', 'linux-arm64=Dockerfile.aarch64', 'windows-amd64-ltsc2022=Dockerfile']);
    expect(dockerfiles('extra')).toEqual(['linux-amd64=Dockerfile', 'linux-arm64=Dockerfile', 'linux-s390x=Dockerfile.s390x', 'windows-amd64-ltsc2022=Dockerfile']);
    expect(dockerfiles('win')).toEqual(['linux-amd64=Dockerfile.amd64', 'windows-amd64-ltsc2022=Dockerfile_windows']);
  });

  it('platforms the image names still need a Dockerfile each', () => {
    const { model, messages } = modelOf({
      'images/named/Dockerfile.x86_64': 'FROM scratch\n',
      'images/named/image.yaml': 'platforms: [linux/amd64]\n',
      'images/based/Dockerfile.aarch64': 'ARG BASEIMAGE\nFROM $BASEIMAGE\n',
      'images/based/BASEIMAGE': 'linux/arm64=arm64v8/busybox:1.36\nlinux/amd64=busybox:1.36\n',
    });
    expect(img(model, 'named').platforms.map((p) => p.key)).toEqual(['linux-amd64']);
    expect(messages).toEqual([
      'images/based/BASEIMAGE:2: no Dockerfile for linux/amd64 (a base image key), expected one of Dockerfile.amd64, Dockerfile.x86_64, Dockerfile in images/based, found only Dockerfile.aarch64',
    ]);
  });
});

describe('compatibility: gvisor', () => {
  const tree = {
    'images/basic/alpine/Dockerfile': 'FROM scratch\n',
    'images/gpu/ollama/Dockerfile': 'FROM scratch\n',
    'images/gpu/ollama/bench/Dockerfile': 'FROM scratch\n',
    'images/default/Dockerfile': 'FROM scratch\n',
  };

  it('gives gVisor names and groups, and gvisor.dev/images as the local prefix unless mkimages.yaml names one', () => {
    const { model, messages } = modelOf({ ...tree, 'images/mkimages.yaml': 'compatibility: gvisor\n' });
    expect(messages).toEqual([]);
    expect(model.settings.compatibility).toBe('gvisor');
    expect(model.settings.localPrefix).toBe('gvisor.dev/images');
    expect(model.images.map((i) => [i.name, i.underscoreName, i.topFolder])).toEqual([
      ['basic/alpine', 'basic_alpine', 'basic'],
      ['default', 'default', undefined],
      ['gpu/ollama', 'gpu_ollama', 'gpu'],
      ['gpu/ollama/bench', 'gpu_ollama_bench', 'gpu'],
    ]);
    const named = modelOf({ ...tree, 'images/mkimages.yaml': 'compatibility: gvisor\nlocalPrefix: example.dev/test\n' });
    expect(named.model.settings.localPrefix).toBe('example.dev/test');
  });

  it('without it, a_b and a/b are two images and the local prefix is the usual one', () => {
    const { model, messages } = modelOf({ ...tree, 'images/basic_alpine/Dockerfile': 'FROM scratch\n' });
    expect(messages).toEqual([]);
    expect(model.settings.compatibility).toBeUndefined();
    expect(model.settings.localPrefix).toBe('mkimages.local');
    expect(model.images.filter((i) => i.underscoreName === 'basic_alpine').map((i) => i.name)).toEqual(['basic/alpine', 'basic_alpine']);
  });
});

describe('title, description, licenses and url', () => {
  it('become OCI annotations with their full keys, and part of H', () => {
    const yaml = 'title: Web server\ndescription: "Serves pages: fast, and \\"quoted\\" $(safe)"\nlicenses: MIT OR Apache-2.0\nurl: https://example.dev/web?x=1#top\n';
    const { model, messages } = modelOf({ 'images/web/Dockerfile': 'FROM scratch\n', 'images/web/image.yaml': yaml, 'images/plain/Dockerfile': 'FROM scratch\n' });
    expect(messages).toEqual([]);
    expect(img(model, 'web').annotations).toEqual([
      ['org.opencontainers.image.description', 'Serves pages: fast, and "quoted" $(safe)'],
      ['org.opencontainers.image.licenses', 'MIT OR Apache-2.0'],
      ['org.opencontainers.image.title', 'Web server'],
      ['org.opencontainers.image.url', 'https://example.dev/web?x=1#top'],
    ]);
    expect(img(model, 'plain').annotations).toEqual([]);
    const retitled = modelOf({ 'images/web/Dockerfile': 'FROM scratch\n', 'images/web/image.yaml': yaml.replace('Web server', 'Web server 2'), 'images/plain/Dockerfile': 'FROM scratch\n' });
    expect(img(retitled.model, 'web').hash).not.toBe(img(model, 'web').hash);
    expect(img(retitled.model, 'plain').hash).toBe(img(model, 'plain').hash);
  });
});
