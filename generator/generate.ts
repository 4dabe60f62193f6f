// The pipeline: scan (the only reader) → model (parse, validate, hash) →
// render. Returns what it would write; writing is the CLI's job.

import { Diagnostics, type Diagnostic } from './diagnostics.js';
import { buildModel } from './model/build.js';
import type { Model } from './model/types.js';
import { renderCatalog, renderGraph } from './render/catalog.js';
import { renderMakefile } from './render/makefile.js';
import { loadTemplates } from './templates.js';
import { loadSchemas, type Schemas } from './schemas.js';
import { readTree } from './scan/tree.js';
import type { Output, OutputDir } from './write/output.js';

export interface Generated extends Output {
  /** Output files by path relative to the repository root; empty when there are errors. */
  files: Map<string, string>;
  /** generated/rules: one file per image, rendered when asked for; empty when there are errors. */
  dirs: Map<string, OutputDir>;
  diagnostics: Diagnostic[];
  model?: Model;
}

export const OUTPUT_DIR = 'generated';

/** What earlier versions wrote to generated/ and this one does not: removed where found. */
export const RETIRED = [`${OUTPUT_DIR}/images.sums`];

export interface GenerateOptions {
  /** The images dir relative to root, checked by checkImagesDir (default `images`). */
  imagesDir?: string;
  /** mkimages' own schemas (default: this package's schema/). */
  schemas?: Schemas;
}

export function generate(root: string, options: GenerateOptions = {}): Generated {
  const diags = new Diagnostics();
  const model = buildModel(readTree(root, options.imagesDir ?? 'images'), diags, options.schemas ?? loadSchemas());
  if (diags.hasErrors) return { files: new Map(), dirs: new Map(), diagnostics: diags.sorted() };
  const makefile = renderMakefile(model, loadTemplates());
  const files = new Map<string, string>([
    [`${OUTPUT_DIR}/images.mk`, makefile.main],
    [`${OUTPUT_DIR}/mkimages.sh`, makefile.script],
    [`${OUTPUT_DIR}/images.json`, renderCatalog(model)],
    [`${OUTPUT_DIR}/images.md`, renderGraph(model)],
  ]);
  return { files, dirs: new Map([[`${OUTPUT_DIR}/rules`, makefile.rules]]), retired: RETIRED, diagnostics: diags.sorted(), model };
}
