// The line scan of Dockerfiles (parse/dockerfile.ts) answers exactly what
// dockerfile-ast answers, or hands the file to it: checked on every
// Dockerfile of the fixtures (real Kubernetes and gVisor trees among them)
// and on shapes chosen to trip a line scan.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWithDockerfileAst, scanDockerfile } from '../../generator/parse/dockerfile.js';
import { PROJECT_ROOT } from '../support/tree.js';

function dockerfilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, d.name);
    if (d.isDirectory()) out.push(...dockerfilesUnder(full));
    else if (d.isFile() && /^Dockerfile/.test(d.name) && !d.name.endsWith('.dockerignore')) out.push(full);
  }
  return out;
}

const CRAFTED: string[] = [
  'FROM scratch\n',
  'FROM scratch',
  '# syntax=docker/dockerfile:1\nARG BASEIMAGE\nFROM $BASEIMAGE\nRUN true\n',
  'ARG A=1 B=2 C\nARG D=\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM ${A:-busybox} as Final\n',
  'from busybox\nrun echo hi\n',
  'FROM busybox\r\nRUN echo \\\r\n  hi\r\nCOPY a b\r\n',
  'FROM busybox\nRUN apt-get update \\\n  # a comment inside\n  && apt-get install -y curl \\\n  && true\nCMD ["sh"]\n',
  'FROM busybox\nRUN echo \\\n\n  hi\n',
  'FROM busybox\nRUN echo \\\\\nRUN next\n',
  'FROM busybox\nRUN echo \\   \n  hi\n',
  'FROM busybox\nRUN echo done \\',
  '  FROM   busybox   AS   a  \n\tRUN\ttrue\n',
  'FROM busybox AS\n',
  'FROM --platform=linux/amd64 --platform=linux/arm64 busybox\n',
  'FROM --platform linux/amd64 busybox\n',
  'FROM "busybox"\n',
  'FROM \\\n  busybox\n',
  'ARG "A=1"\nFROM busybox\n',
  "ARG A='x y'\nFROM busybox\n",
  'ARG\nFROM busybox\n',
  '# escape=`\nFROM mcr.microsoft.com/windows/nanoserver:ltsc2022\nRUN echo `\n  hi\n',
  'FROM busybox\nRUN <<EOF\nFROM not-a-stage\nEOF\n',
  'FROM busybox\nCOPY <<-EOT /x\n  RUN no\nEOT\n',
  'FROM busybox\rRUN true\r',
  'FROM\u00a0busybox\n',
  '# comment \\\nFROM busybox\n',
  'RUN before\nFROM busybox\n',
  'FROM busybox\nONBUILD FROM other\n',
  'FROM\\\n busybox\n',
  'MAINTAINER x\nLABEL a=b\n',
  'FROM busybox\n# trailing comment',
];

describe('Dockerfile line scan', () => {
  const files = [...dockerfilesUnder(join(PROJECT_ROOT, 'test/fixtures'))];

  it('has real Dockerfiles to compare', () => {
    expect(files.length).toBeGreaterThan(100);
  });

  it('agrees with dockerfile-ast on every Dockerfile of the fixtures, and reads most of them itself', () => {
    let scanned = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8').replace(/^\uFEFF/, '');
      const fast = scanDockerfile(text);
      if (fast === undefined) continue;
      scanned++;
      expect({ file: f, ...fast }).toEqual({ file: f, ...parseWithDockerfileAst(text) });
    }
    expect(scanned / files.length).toBeGreaterThan(0.8);
  });

  it.each(CRAFTED.map((t) => [JSON.stringify(t), t]))('agrees or defers: %s', (_name, text) => {
    const fast = scanDockerfile(text);
    if (fast !== undefined) expect(fast).toEqual(parseWithDockerfileAst(text));
  });

  it('defers heredocs, escape directives, quoted or continued FROM and global ARG lines', () => {
    for (const t of [CRAFTED[15], CRAFTED[16], CRAFTED[17], CRAFTED[18], CRAFTED[20], CRAFTED[21], CRAFTED[22], CRAFTED[23]]) expect(scanDockerfile(t)).toBeUndefined();
  });
});
