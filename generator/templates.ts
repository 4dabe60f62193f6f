// mkimages' own templates (templates/*), read at the edge and handed to the
// renderer; render/ never reads files itself.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PACKAGE_ROOT, TEMPLATE_DIR } from './paths.js';

export type Template = (context: unknown) => string;
interface Environment {
  create(): Environment;
  registerPartial(name: string, partial: unknown): void;
  template(spec: unknown): Template;
  compile(source: string, options: unknown): Template;
}
interface Sources {
  templates: { main: string; rules: string };
  partials: string[];
  options: unknown;
}
interface Precompiled {
  sourceHash: string;
  partials: Record<string, unknown>;
  templates: Record<'main' | 'rules', unknown>;
}

const require = createRequire(import.meta.url);
const PRECOMPILED = join(PACKAGE_ROOT, 'dist', 'templates.cjs');
let compiled: Templates | undefined;

export interface Templates {
  main: Template;
  /** generated/rules/<image>.mk: the rules of one image. */
  rules: Template;
  /** generated/mkimages.sh, the same for every tree. */
  script: string;
}

/**
 * A private Handlebars environment with the templates: precompiled by the
 * build when dist/templates.cjs matches the sources (only the small runtime
 * is loaded), else compiled here. Both give the same output.
 */
export function loadTemplates(usePrecompiled = true): Templates {
  if (compiled && usePrecompiled) return compiled;
  const read = (name: string) => readFileSync(join(TEMPLATE_DIR, name), 'utf8');
  const sources = JSON.parse(read('templates.json')) as Sources;
  const hash = createHash('sha256');
  for (const name of [...sources.partials, ...Object.values(sources.templates)].sort()) hash.update(`${name}\0${read(name)}\0`);
  const precompiled = existsSync(PRECOMPILED) ? (require(PRECOMPILED) as Precompiled) : undefined;
  if (usePrecompiled && precompiled?.sourceHash === hash.digest('hex')) {
    const hb = (require('handlebars/runtime') as { default: Environment }).default.create();
    for (const p of sources.partials) hb.registerPartial(p.replace(/\.mk\.hbs$/, ''), hb.template(precompiled.partials[p]));
    compiled = { main: hb.template(precompiled.templates.main), rules: hb.template(precompiled.templates.rules), script: read('mkimages.sh') };
  } else {
    const hb = (require('handlebars') as Environment).create();
    for (const p of sources.partials) hb.registerPartial(p.replace(/\.mk\.hbs$/, ''), read(p));
    const runtime = { main: hb.compile(read(sources.templates.main), sources.options), rules: hb.compile(read(sources.templates.rules), sources.options), script: read('mkimages.sh') };
    if (!usePrecompiled) return runtime;
    compiled = runtime;
  }
  return compiled;
}

