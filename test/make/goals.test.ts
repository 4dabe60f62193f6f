// Goal names the plan must read right: an image whose folder starts with
// `group-` is an image, not a group; a goal no image answers to stops a
// delegated sub-make instead of starting another.

import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { FAKE_DOCKER, makeTree, runCli, runMake } from '../support/tree.js';

const root = makeTree({ 'images/group-0/img-1/Dockerfile': 'FROM scratch\n', 'images/group-0/img-2/Dockerfile': 'FROM scratch\n' }, 'mkimages-goals-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('goals', () => {
  it('plans an image nested in a folder named group-…, and the group of that folder', () => {
    writeFileSync(join(root, 'Makefile'), 'include generated/images.mk\n');
    expect(runCli(root).status).toBe(0);
    const one = runMake(root, ['-n', `DOCKER=${FAKE_DOCKER}`, 'build-group-0/img-1'], {});
    expect(one.status, one.stderr).toBe(0);
    expect(one.stdout.split('\n').filter((l) => l.includes(' build --platform'))).toHaveLength(1);
    expect(one.stdout).not.toContain('MKIMAGES_DELEGATED');
    const group = runMake(root, ['-n', `DOCKER=${FAKE_DOCKER}`, 'build-group-group-0'], {});
    expect(group.status, group.stderr).toBe(0);
    expect(group.stdout.split('\n').filter((l) => l.includes(' build --platform'))).toHaveLength(2);
  });

  it('a delegated sub-make that cannot plan its goal stops with a message', () => {
    const r = runMake(root, ['-n', `DOCKER=${FAKE_DOCKER}`, 'MKIMAGES_DELEGATED=1', 'build-group-0/img-1-linux-s390x'], {});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('mkimages: no image of this tree answers to build-group-0/img-1-linux-s390x ');
  });
});
