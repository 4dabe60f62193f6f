// Where mkimages' own files (schema/, templates/) are, whether this code runs
// compiled from dist/ or as TypeScript source under test.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('mkimages: cannot find its own package root (templates/ next to package.json)');
    dir = up;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
export const SCHEMA_DIR = join(PACKAGE_ROOT, 'schema');
export const TEMPLATE_DIR = join(PACKAGE_ROOT, 'templates');
