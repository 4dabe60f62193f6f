// Hostile but legal input against a real engine: build args and labels
// holding `$(shell …)`, quotes and backticks; build-context file names with
// spaces, `$`, `#`, `:`, `%`, quotes, backticks, `;` and non-ASCII letters;
// CRLF files; a symlink loop and a link out of the tree. It must generate,
// plan, list and really build, with no canary file ever created, and the
// built image must hold every value and file name literally.

import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findCanaries, makeTree, removeTree, runCli } from '../support/tree.js';
import { describeE2E, dockerCmd, e2eEnv, removeImagesWithPrefix, run, uniqueName, useE2E } from './support/e2e.js';

describeE2E('hostile but legal input', () => {
  const e2e = useE2E();
  const localPrefix = uniqueName('hostile');
  const ns = uniqueName('hostilens');
  const REGISTRY = `${e2e.registry}/${ns}`;
  const container = uniqueName('hostile-export');
  const canaryDir = mkdtempSync(join(tmpdir(), 'mkimages-e2e-canary-'));
  const CANARY = join(canaryDir, 'CANARY');
  let root = '';

  // Every value tries, in one way or another, to create the canary.
  const ARG_VALUE = `$(shell touch ${CANARY}) \`touch ${CANARY}\` '$(touch ${CANARY})' "$$(touch ${CANARY})" ; touch CANARY # 100% \\`;
  const LABEL_VALUE = `it's "quoted" \`touch ${CANARY}\` $(shell touch CANARY) $HOME \${HOME} #x %y ;z \\ ü`;
  const CONTEXT_NAMES = [
    'with space.txt',
    '$dollar',
    '$(shell touch CANARY)',
    '#hash',
    'co:lon',
    '100%',
    "single'quote",
    'double"quote',
    '`touch CANARY`',
    'semi;colon',
    'ünïcødé-日本語',
  ];

  const canaries = () => findCanaries(CANARY, root);

  const make = (...args: string[]) =>
    run('make', ['--no-print-directory', '-C', root, `DOCKER=${e2e.docker}`, `REGISTRY=${REGISTRY}`, `LOCAL_PREFIX=${localPrefix}`, `BUILD_FLAGS=${e2e.buildFlags}`, ...args], {
      env: e2eEnv(),
    });

  beforeAll(() => {
    const files: Record<string, string> = {
      // The hostile values reach docker as build args and labels; the ARG is
      // copied into a label too, so the image shows what docker received.
      'images/hostile/Dockerfile': 'FROM scratch\r\nARG HOSTILE\r\nLABEL from.arg="${HOSTILE}"\r\nCOPY . /ctx/\r\n',
      'images/hostile/VERSION': '1.0\r\n\r\n',
      'images/hostile/image.yaml': stringify({ buildArgs: { HOSTILE: ARG_VALUE }, labels: { 'hostile.label': LABEL_VALUE } }, { lineWidth: 0 }).replace(/\n/g, '\r\n'),
      // Kubernetes style, CRLF throughout.
      'images/crlf/Dockerfile': 'ARG BASEIMAGE\r\nFROM $BASEIMAGE\r\nCOPY data.txt /\r\n',
      'images/crlf/BASEIMAGE': '# base\r\nlinux/amd64=scratch\r\nlinux/arm64=scratch\r\n\r\n',
      'images/crlf/VERSION': '2.0\r\n',
      'images/crlf/ALIAS': 'crlf-alias\r\n',
      'images/crlf/data.txt': 'line one\r\nline two\r\n',
    };
    for (const name of CONTEXT_NAMES) files[`images/hostile/${name}`] = `${name}\n`;
    root = makeTree(files, 'mkimages-e2e-hostile-');
    symlinkSync('loop', join(root, 'images/hostile/loop'));
    symlinkSync('/etc/passwd', join(root, 'images/hostile/passwd'));
    symlinkSync('../../..', join(root, 'images/hostile/up'));
  });

  afterAll(async () => {
    await dockerCmd(['rm', '-f', container]);
    await removeImagesWithPrefix(localPrefix);
    await removeImagesWithPrefix(ns);
    if (root) removeTree(root);
    rmSync(canaryDir, { recursive: true, force: true });
  });

  it('generates', () => {
    const r = runCli(root);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(canaries()).toEqual([]);
  });

  it('plans build-all-images and push-all-images with make -n, and lists every image, running nothing', async () => {
    for (const target of ['build-all-images', 'push-all-images']) {
      const r = await make('-n', target);
      expect(r.code, `${target}\n${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/\*\*\*|warning:/);
      expect(canaries()).toEqual([]);
    }
    const list = await make('-s', 'list-all-images');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.trim().split('\n')).toEqual([`${REGISTRY}/crlf-alias:2.0`, `${REGISTRY}/hostile:1.0`]);
    expect(canaries()).toEqual([]);
  });

  it('really builds, and the image holds the hostile values and file names literally', async () => {
    const r = await make('build-all-images');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(canaries()).toEqual([]);

    const inspect = await dockerCmd(['image', 'inspect', '--format', '{{json .Config.Labels}}', `${localPrefix}/hostile:latest`]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const labels = JSON.parse(inspect.stdout) as Record<string, string>;
    expect(labels['hostile.label']).toBe(LABEL_VALUE);
    expect(labels['from.arg']).toBe(ARG_VALUE);
    expect(labels['org.opencontainers.image.version']).toBe('1.0');

    // The context went in as Docker sends it: every name, links as links.
    expect((await dockerCmd(['create', '--name', container, `${localPrefix}/hostile:latest`, 'none'])).code).toBe(0);
    const tar = join(canaryDir, 'export.tar');
    expect((await dockerCmd(['export', '-o', tar, container])).code).toBe(0);
    const listing = await run('tar', ['-tvf', tar], { env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    expect(listing.code, listing.stderr).toBe(0);
    const names = await run('tar', ['-tf', tar], { env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    const inCtx = names.stdout
      .split('\n')
      .filter((l) => l.startsWith('ctx/') && l !== 'ctx/')
      .map((l) => l.slice('ctx/'.length).replace(/\/$/, ''));
    for (const name of CONTEXT_NAMES) expect(inCtx).toContain(name);
    expect(listing.stdout).toMatch(/ ctx\/loop -> loop\n/);
    expect(listing.stdout).toMatch(/ ctx\/passwd -> \/etc\/passwd\n/);
    // And no canary was made inside the image either.
    expect(inCtx.filter((n) => n === 'CANARY')).toEqual([]);

    const crlf = await dockerCmd(['image', 'inspect', '--format', '{{index .Config.Labels "org.opencontainers.image.version"}}', `${localPrefix}/crlf:latest`]);
    expect(crlf.stdout.trim()).toBe('2.0');
  });

  it('finds nothing to build the second time (the fingerprint of the odd names holds)', async () => {
    const r = await make('build-all-images');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('up to date');
    expect(r.stdout).not.toContain('>> building');
    expect(canaries()).toEqual([]);
  });
});
