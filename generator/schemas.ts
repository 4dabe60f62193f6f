// mkimages' own JSON Schemas (schema/*.json), read at the edge and handed to
// the stages that validate YAML; parse/ never reads them itself.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { SCHEMA_DIR } from './paths.js';

export interface Schemas {
  /** image.yaml (schema/image.schema.json). */
  readonly image: ValidateFunction;
  /** <images dir>/mkimages.yaml (schema/mkimages.schema.json). */
  readonly settings: ValidateFunction;
}

// The schemas are fixed files of this package, checked against the
// meta-schema by a unit test; not re-checking them and not optimising the
// generated code saves most of ajv's start-up on every run.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, validateSchema: false, code: { optimize: false } });

function compile(dir: string, file: string): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
  delete schema.$schema; // ajv's default meta-schema is draft-07; the keywords used are common to both.
  return ajv.compile(schema);
}

const loaded = new Map<string, Schemas>();

/**
 * The schemas of a schema folder (default: this package's). Each is compiled
 * on first use: a tree with no image.yaml never pays for ajv's compiler.
 */
export function loadSchemas(dir: string = SCHEMA_DIR): Schemas {
  let s = loaded.get(dir);
  if (!s) {
    let image: ValidateFunction | undefined;
    let settings: ValidateFunction | undefined;
    s = {
      get image() {
        return (image ??= compile(dir, 'image.schema.json'));
      },
      get settings() {
        return (settings ??= compile(dir, 'mkimages.schema.json'));
      },
    };
    loaded.set(dir, s);
  }
  return s;
}
