#!/usr/bin/env node
// npm run generate [-- --check] [-- --root DIR]

import { resolve } from 'node:path';
import { formatDiagnostic } from './diagnostics.js';
import { generate } from './generate.js';
import { staleFiles, writeFiles } from './write/output.js';

const USAGE = `usage: mkimages [--check] [--root DIR]
  Reads DIR/images/ (default: the current directory) and writes DIR/generated/.
  --check  write nothing; exit 1 listing the generated files that are not up to date`;

export function main(argv: string[]): number {
  let check = false;
  let root = process.cwd();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') check = true;
    else if (a === '--root' && i + 1 < argv.length) root = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else {
      process.stderr.write(`mkimages: unknown argument ${JSON.stringify(a)}\n${USAGE}\n`);
      return 2;
    }
  }
  root = resolve(root);
  const result = generate(root);
  for (const d of result.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  if (errors > 0) {
    process.stderr.write(`mkimages: ${errors} error(s); generated/ was not changed\n`);
    return 1;
  }
  const stale = staleFiles(root, result.files);
  if (check) {
    if (stale.length === 0) return 0;
    process.stderr.write(`mkimages: generated output is not up to date; run \`npm run generate\`:\n${stale.map((f) => `  ${f}\n`).join('')}`);
    return 1;
  }
  if (stale.length > 0) writeFiles(root, result.files);
  process.stdout.write(`mkimages: ${result.model?.images.length ?? 0} image(s); ${stale.length === 0 ? 'generated/ is up to date' : `wrote ${stale.join(', ')}`}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
