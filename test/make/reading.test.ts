// What one make call reads: the rules files (generated/rules/<file>.mk) of
// the images its goals name and of the images they are built from, no
// others; a
// target reached through a rule of the user's Makefile goes to a sub-make that
// reads it; a name no image answers to fails. And the build times of every
// image a plan builds come from one `git log`.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_DOCKER, makeTree, runCli, runMake } from '../support/tree.js';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

const NAMED = {
  'images/base/Dockerfile': 'FROM scratch\n',
  'images/app/Dockerfile': 'ARG REGISTRY\nFROM $REGISTRY/base:latest\n',
  'images/other/Dockerfile': 'FROM scratch\n',
  'images/build-tools/Dockerfile': 'FROM scratch\n',
  'images/basic/alpine/Dockerfile': 'FROM scratch\n',
};
// 100 images: their rules are spread over 16 files.
const TREE: Record<string, string> = { ...NAMED };
for (let i = 0; i < 95; i++) TREE[`images/filler-${i}/Dockerfile`] = 'FROM scratch\n';

/** The rules file of each image, as images.mk says (RULES.<file> := <images>). */
function rulesFiles(root: string): Map<string, string> {
  const of = new Map<string, string>();
  for (const m of readFileSync(join(root, 'generated/images.mk'), 'utf8').matchAll(/^RULES\.(\S+) := (.*)$/gm)) {
    for (const n of m[2].split(' ')) of.set(n, m[1]);
  }
  return of;
}

function generated(makefile = 'include generated/images.mk\n'): string {
  const root = makeTree(TREE, 'mkimages-reading-');
  roots.push(root);
  writeFileSync(join(root, 'Makefile'), makefile);
  const r = runCli(root);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return root;
}

const plan = (root: string, ...args: string[]) => runMake(root, ['-n', `DOCKER=${FAKE_DOCKER}`, ...args]);
const builds = (out: string) => out.split('\n').filter((l) => l.includes(' build --platform'));

describe('one make call reads the rules its goals need', () => {
  let root = '';
  beforeAll(() => {
    root = generated();
  });

  it("writes each image's rules once, in the file images.mk names for it", () => {
    const of = rulesFiles(root);
    const names = Object.keys(TREE).map((p) => p.slice('images/'.length, -'/Dockerfile'.length));
    expect([...of.keys()].sort()).toEqual([...names].sort());
    expect(new Set(of.values()).size).toBe(16);
    const files = readdirSync(join(root, 'generated/rules')).sort();
    expect(files).toEqual([...new Set(of.values())].sort().map((f) => `${f}.mk`));
    for (const n of names) {
      const holding = files.filter((f) => readFileSync(join(root, 'generated/rules', f), 'utf8').includes(`\nbuild-${n}:\n`));
      expect(holding, n).toEqual([`${of.get(n)}.mk`]);
    }
  });

  it('does not read the rules files of images the goal does not touch', () => {
    // A rules file make would choke on: only a make that reads it notices.
    const of = rulesFiles(root);
    // app and its parent base are in two files: the parent's is read in the second round.
    expect(of.get('app')).not.toBe(of.get('base'));
    const needed = new Set([of.get('app'), of.get('base')]);
    const victim = [...of.keys()].find((n) => !needed.has(of.get(n)))!;
    const file = join(root, 'generated/rules', `${of.get(victim)}.mk`);
    const saved = readFileSync(file, 'utf8');
    writeFileSync(file, 'this is not make syntax\n');
    try {
      const app = plan(root, 'build-app');
      expect(app.status, app.stderr).toBe(0);
      // The parent's rules are read: it is built first.
      expect(builds(app.stdout).map((l) => /-f (\S+)/.exec(l)![1])).toEqual(['images/base/Dockerfile', 'images/app/Dockerfile']);
      for (const goal of ['help', 'list-all-images', 'help-app']) expect(plan(root, goal).status).toBe(0);
      for (const goal of ['build-all-images', `build-${victim}`]) {
        const r = plan(root, goal);
        expect(r.status, goal).not.toBe(0);
        expect(r.stderr, goal).toContain(`${of.get(victim)}.mk:1: *** missing separator`);
      }
    } finally {
      writeFileSync(file, saved);
    }
  });

  it('plans an image whose name starts like a target (build-tools) and a nested one', () => {
    for (const goal of ['build-build-tools', 'push-build-tools', 'build-basic/alpine', 'load-basic/alpine']) {
      const r = plan(root, goal, 'REGISTRY=127.0.0.1:5999/r');
      expect(r.status, `${goal}: ${r.stderr}`).toBe(0);
      expect(builds(r.stdout).length + r.stdout.split('\n').filter((l) => l.includes('buildx build')).length, goal).toBeGreaterThan(0);
      expect(r.stdout).not.toContain('MKIMAGES_DELEGATED');
    }
  });

  it('a goal no image answers to fails with a message, and never succeeds', () => {
    for (const goal of ['build-nosuch', 'push-nosuch', 'load-basic/nosuch', 'build-group-nosuch', 'build-app-linux-s390x']) {
      const r = plan(root, goal);
      expect(r.status, goal).toBe(2);
      expect(r.stderr, goal).toContain(`mkimages: no image of this tree answers to ${goal} `);
    }
    // Not even when a file of that name is in the way.
    writeFileSync(join(root, 'build-nosuch'), '');
    expect(plan(root, 'build-nosuch').status).toBe(2);
    rmSync(join(root, 'build-nosuch'));
  });
});

describe('a target reached through a rule of your Makefile', () => {
  it('is planned by a sub-make that reads its rules, a nested image too', () => {
    const root = generated('include generated/images.mk\ne2e: build-app load-basic/alpine\n\t@echo ">> testing"\n');
    const r = plan(root, 'e2e');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^make --no-print-directory -f Makefile MKIMAGES_DELEGATED=1 build-app$/m);
    expect(r.stdout).toMatch(/^make --no-print-directory -f Makefile MKIMAGES_DELEGATED=1 load-basic\/alpine$/m);
    expect(builds(r.stdout).map((l) => /-f (\S+)/.exec(l)![1])).toEqual(['images/base/Dockerfile', 'images/app/Dockerfile', 'images/basic/alpine/Dockerfile']);
    expect(r.stdout).toMatch(/^echo ">> testing"$/m);
  });

  it('that no image answers to fails the run', () => {
    const root = generated('include generated/images.mk\ne2e: build-nosuch\n\t@echo ">> testing"\n');
    const r = plan(root, 'e2e');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('mkimages: no image of this tree answers to build-nosuch ');
    expect(r.stdout).not.toContain('>> testing');
  });
});

describe('build times (SOURCE_DATE_EPOCH) from git', () => {
  it("are each image folder's last commit time, read by one git log for the whole plan", () => {
    const root = generated();
    const git = (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = spawnSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
      expect(r.status, r.stderr).toBe(0);
    };
    const at = (t: number) => ({ GIT_AUTHOR_DATE: `${t} +0000`, GIT_COMMITTER_DATE: `${t} +0000` });
    git(['init', '-q']);
    git(['add', 'images/base', 'images/other', 'images/build-tools', 'images/basic']);
    git(['commit', '-qm', 'one'], at(1700000000));
    git(['add', 'images/app']);
    git(['commit', '-qm', 'two'], at(1700000500));
    writeFileSync(join(root, 'images/basic/alpine/Dockerfile'), 'FROM scratch\n# changed\n');
    expect(runCli(root).status).toBe(0);
    git(['add', '-A', 'images']);
    git(['commit', '-qm', 'three'], at(1700000900));
    // Count the git calls make starts.
    const bin = join(root, '.bin');
    mkdirSync(bin);
    const log = join(root, '.git-calls');
    const real = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$*" >>${log}\nexec ${real} "$@"\n`);
    chmodSync(join(bin, 'git'), 0o755);
    const r = runMake(root, ['-n', `DOCKER=${FAKE_DOCKER}`, 'build-all-images'], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.status, r.stderr).toBe(0);
    const epochOf = (dockerfile: string) => / --build-arg SOURCE_DATE_EPOCH=(\d+) /.exec(builds(r.stdout).find((l) => l.includes(` -f ${dockerfile} `))!)![1];
    expect(epochOf('images/base/Dockerfile')).toBe('1700000000');
    expect(epochOf('images/app/Dockerfile')).toBe('1700000500');
    expect(epochOf('images/basic/alpine/Dockerfile')).toBe('1700000900');
    expect(readFileSync(log, 'utf8').split('\n').filter((l) => /(^| )log /.test(l))).toHaveLength(1);
    // What `git log -1 -- FOLDER` says, folder by folder.
    for (const d of ['base', 'app', 'other', 'build-tools', 'basic/alpine']) {
      const one = spawnSync('git', ['log', '-1', '--format=%ct', '--', `images/${d}`], { cwd: root, encoding: 'utf8' }).stdout.trim();
      const line = builds(r.stdout).find((l) => l.includes(` -f images/${d}/Dockerfile `))!;
      expect(line, d).toContain(` --build-arg SOURCE_DATE_EPOCH=${one} `);
    }
  });
});
