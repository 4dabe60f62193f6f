// How mkimages.sh reads a registry client's complaint: "no such tag" (the
// registry answered) or "no answer" (down, refused, reset). Only the first
// lets a push go ahead; the second must stop it before anything is built.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/tree.js';

const dir = mkdtempSync(join(tmpdir(), 'mkimages-answers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The words `mkimages.sh status` prints for an image whose every registry read fails with `message`. */
function status(message: string): string[] {
  const client = join(dir, 'docker');
  writeFileSync(join(dir, 'message'), `${message}\n`);
  writeFileSync(client, `#!/bin/sh\ncat '${join(dir, 'message')}' >&2\nexit 1\n`);
  chmodSync(client, 0o755);
  // A hash and a port that hold 404, as real ones do now and then.
  writeFileSync(join(dir, 'plan'), 'x push 127.0.0.1:34045/ns/x 1.0 a404b1c2d3e4f506 linux-amd64 linux-arm64\n');
  const r = spawnSync('sh', [join(PROJECT_ROOT, 'generated/mkimages.sh'), 'status', 'imagetools', client, '2', join(dir, 'plan')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('a registry client that fails', () => {
  it.each([
    'ERROR: 127.0.0.1:34045/ns/x:a404b1c2d3e4f506: not found',
    'time="2026-11-30T15:00:00Z" level=fatal msg="Error parsing image name: reading manifest 1.0 in 127.0.0.1:34045/ns/x: manifest unknown"',
    'Error: name unknown: repository name not known to registry',
    'ERROR: unexpected status code 404 Not Found',
  ])('with "no such tag" (%s): nothing is published, the push goes ahead', (message) => {
    expect(status(message)).toEqual(['x@tag-absent']);
  });

  it.each([
    'ERROR: failed to do request: Head "http://127.0.0.1:34045/v2/ns/x/manifests/a404b1c2d3e4f506": EOF',
    'ERROR: failed to do request: Head "http://127.0.0.1:34045/v2/ns/x/manifests/1.0": dial tcp 127.0.0.1:34045: connect: connection refused',
    'ERROR: read tcp 127.0.0.1:40404->127.0.0.1:34045: read: connection reset by peer',
  ])('with anything else (%s): the registry did not answer, even when a port or a hash holds 404', (message) => {
    expect(status(message)).toEqual(['x@unreachable']);
  });
});
