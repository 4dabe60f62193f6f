// The YAML line scan (parse/yaml-file.ts scanSimpleYaml) answers exactly
// what the yaml library answers, or hands the file to it: on every YAML file
// of the fixtures, on shapes chosen to trip it, and on generated documents.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseDocument, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { scanSimpleYaml } from '../../generator/parse/yaml-file.js';
import { PROJECT_ROOT } from '../support/tree.js';

/** What the library reads, as parseYamlFile reads it; undefined when it reports a problem. */
function library(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  return doc.toJS() ?? {};
}

function agrees(text: string): boolean {
  const fast = scanSimpleYaml(text);
  if (fast !== undefined) expect({ text, value: fast }).toEqual({ text, value: library(text) });
  return fast !== undefined;
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? yamlFilesUnder(join(dir, d.name)) : /\.ya?ml$/.test(d.name) ? [join(dir, d.name)] : [],
  );
}

const CRAFTED = [
  '',
  '# only a comment\n',
  'version: "1.0"\n',
  'version: 1.0\n',
  'version: 2.52\nname: web\n',
  'platforms: [linux/amd64, linux/arm64]\n',
  'platforms: []\ngroups:\n- a\n- b\n',
  'groups:\n  - e2e\n  - "e2e tests"\n',
  'buildArgs:\n  GREETING: hello-628\n  N: 42\n  B: true\n  C: false\n  Z: 007\n',
  'labels:\n  org.example.index: 628\n  a/b: c\n',
  'windowsOsVersions:\n  1809: 10.0.17763.6659\n  ltsc2022: 10.0.20348.2966\n  20H2: 10.0.19042.1889\n  2004: 10.0.19041.1415\n',
  'defaultPlatforms: [linux/amd64, linux/arm64]\nregistry: registry.example/bench\nlocalPrefix: mkbench.local\n',
  'source: https://github.com/example/repo\nurl: https://example.dev/web?x=1\n',
  'title: Web server (fast)\ndescription: Serves pages, quickly\n',
  'labels:\n  note: |\n    one\n    two\n',
  'labels: {a: 1}\n',
  'version: &v "1"\nname: *v\n',
  'a: b: c\n',
  'a: b:c\n',
  'a1: b: c\n',
  'x: yes\ny: no\nz: on\nn: null\nt: ~\nT: True\n',
  'version: "1"\nversion: "2"\n',
  'key:value\n',
  'k: [a: b]\n',
  'k: [a:b]\n',
  'k: [a,b , c]\n',
  'k: [a, ]\n',
  'k: 0x1f\nj: 0o17\nl: 1e3\nm: .inf\nn: -1\n',
  '0x1f: a\n',
  'nested:\n  deeper:\n    x: 1\n',
  'list:\n  - a\n   - b\n',
  'empty:\nnext: 1\n',
  'a: "quoted # not a comment"\n',
  "a: 'single'\nb: 'it''s'\n",
  'a: "esc\\"aped"\n',
  'a: b # comment\n',
  'a: b   \n',
  '---\na: b\n',
  'a: b\r\nc: d\r\n',
  'a:\tb\n',
  '- a\n- b\n',
  '"quoted": key\n',
  'mirror: docker.io/library/busybox:1.36\npromote: false\n',
  'baseImage:\n  linux/amd64: busybox:1.36\n  windows/amd64/ltsc2022: mcr.microsoft.com/windows/nanoserver:ltsc2022\n',
  '__proto__: x\n',
  'a: /path/to\nb: _under\n',
  'a: x:\n',
  'a: -1\nb: -x\n',
];

describe('YAML line scan', () => {
  it('agrees with the yaml library on every YAML file of the fixtures, and reads most of them itself', () => {
    const files = yamlFilesUnder(join(PROJECT_ROOT, 'test/fixtures'));
    expect(files.length).toBeGreaterThan(5);
    const scanned = files.filter((f) => agrees(readFileSync(f, 'utf8')));
    expect(scanned.length / files.length).toBeGreaterThan(0.7);
  });

  it.each(CRAFTED.map((t) => [JSON.stringify(t), t]))('agrees or defers: %s', (_name, text) => {
    agrees(text);
  });

  it('reads the usual shapes itself', () => {
    for (const i of [0, 1, 2, 5, 6, 7, 10, 11, 12, 13, 42, 43]) expect(scanSimpleYaml(CRAFTED[i])).toBeDefined();
  });

  it('agrees with the library on generated documents', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9_./:@+=~# ()\-,"'[\]{}*&!|>%]{0,12}$/);
    const scalar = fc.oneof(word, fc.integer({ min: -5, max: 100000 }), fc.boolean(), fc.constantFrom('1.0', '10.0.1.2', 'null', 'yes', '0x1f', 'https://a.b/c?d=e'));
    const key = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_./-]{0,8}$/);
    const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(key, scalar, { maxKeys: 3 }));
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 5 }), fc.boolean(), (doc, flow) => {
        // The library's own spelling, block or flow sequences.
        agrees(stringify(doc, { flowCollectionPadding: false, collectionStyle: flow ? 'any' : 'block' }));
        // And a hand-written spelling with plain scalars.
        const lines: string[] = [];
        for (const [k, v] of Object.entries(doc)) {
          if (Array.isArray(v)) lines.push(`${k}: [${v.join(', ')}]`);
          else if (v !== null && typeof v === 'object') lines.push(`${k}:`, ...Object.entries(v).map(([a, b]) => `  ${a}: ${String(b)}`));
          else lines.push(`${k}: ${String(v)}`);
        }
        agrees(`${lines.join('\n')}\n`);
      }),
      { numRuns: 400 },
    );
  });
});
