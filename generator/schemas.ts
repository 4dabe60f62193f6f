// mkimages' own JSON Schemas (schema/*.json), handed by the edge (generate.ts)
// to the stages that validate YAML; parse/ never reads them itself. They are
// ajv's standalone code for the schemas, generated and kept current by
// test/unit/schemas.test.ts, so a run neither loads nor runs ajv's compiler.

import type { ValidateFunction } from 'ajv';
import { image, settings } from './schema-validators.generated.js';

export interface Schemas {
  /** image.yaml (schema/image.schema.json). */
  readonly image: ValidateFunction;
  /** <images dir>/mkimages.yaml (schema/mkimages.schema.json). */
  readonly settings: ValidateFunction;
}

const SCHEMAS: Schemas = { image: image as unknown as ValidateFunction, settings: settings as unknown as ValidateFunction };

/** This package's schemas. */
export function loadSchemas(): Schemas {
  return SCHEMAS;
}
