#!/usr/bin/env node
// npm run generate [-- --check] [-- --root DIR] [-- --images-dir DIR]

import { realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from './diagnostics.js';
import { generate } from './generate.js';
import { checkImagesDir } from './scan/tree.js';
import { findChanges, writeFiles } from './write/output.js';

const USAGE = `usage: mkimages [--check] [--root DIR] [--images-dir DIR]
  Reads the images tree of the repository at --root (default: the current
  directory) and writes its generated/.
  --root DIR        the repository root; generated/ is written there
  --images-dir DIR  the images tree, relative to the root (default: images;
                    Kubernetes: test/images); DIR/mkimages.yaml is the settings file
  --check           write nothing; exit 1 listing the generated files that are not up to date`;

/** Where main() writes; tests run main() in-process with their own. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether to hold SIGINT, SIGTERM and SIGHUP while generated/ is replaced (the real process only). */
  holdSignals?: boolean;
}

const PROCESS_IO: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  holdSignals: true,
};

/** Returns the exit code. */
export function main(argv: string[], io: Io = PROCESS_IO): number {
  let check = false;
  let root = process.cwd();
  let imagesDir = 'images';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') check = true;
    else if (a === '--root' && i + 1 < argv.length) root = argv[++i];
    else if (a === '--images-dir' && i + 1 < argv.length) imagesDir = argv[++i];
    else if (a === '--help' || a === '-h') {
      io.stdout(`${USAGE}\n`);
      return 0;
    } else {
      io.stderr(`mkimages: unknown argument ${JSON.stringify(a)}\n${USAGE}\n`);
      return 2;
    }
  }
  root = resolve(root);
  const dir = checkImagesDir(root, imagesDir);
  if ('problem' in dir) {
    io.stderr(`mkimages: ${dir.problem}\n${USAGE}\n`);
    return 2;
  }
  const result = generate(root, { imagesDir: dir.dir });
  for (const d of result.diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  if (errors > 0) {
    io.stderr(`mkimages: ${errors} error(s); generated/ was not changed\n`);
    return 1;
  }
  const changes = findChanges(root, result);
  const stale = changes.stale;
  if (check) {
    if (stale.length === 0) return 0;
    io.stderr(`mkimages: generated output is not up to date; run \`npm run generate\`:\n${stale.map((f) => `  ${f}\n`).join('')}`);
    return 1;
  }
  if (stale.length > 0) {
    // Ctrl-C while the new files are renamed into place takes effect after
    // the last rename, never between two of them.
    if (io.holdSignals) for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, () => process.exit(128 + constants.signals[s]));
    try {
      writeFiles(root, result, changes);
    } catch (e) {
      io.stderr(`mkimages: cannot write ${stale.join(', ')}: ${(e as Error).message}; generated/ was not changed\n`);
      return 1;
    }
  }
  const wrote = stale.filter((f) => !changes.retired.includes(f));
  const did = [...(wrote.length > 0 ? [`wrote ${wrote.join(', ')}`] : []), ...(changes.retired.length > 0 ? [`removed ${changes.retired.join(', ')}`] : [])];
  io.stdout(`mkimages: ${result.model?.images.length ?? 0} image(s); ${did.length === 0 ? 'generated/ is up to date' : did.join('; ')}\n`);
  return 0;
}

/** Whether this module is the program (node dist/generator/cli.js, or the npm bin link to it). */
function isProgram(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) process.exitCode = main(process.argv.slice(2));
