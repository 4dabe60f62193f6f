// mkimages' own templates (templates/*), read at the edge and handed to the
// renderer; render/ never reads files itself.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PACKAGE_ROOT, TEMPLATE_DIR } from './paths.js';
import { compileTemplates, type TemplateSources } from './render/compile-template.js';

export type Template = (context: unknown) => string;
interface Environment {
  create(): Environment;
  registerPartial(name: string, partial: unknown): void;
  compile(source: string, options: unknown): Template;
}
interface Config {
  templates: { main: string; rules: string };
  partials: string[];
  options: unknown;
}
interface Precompiled {
  sourceHash: string;
  main: Template;
  rules: Template;
}

const require = createRequire(import.meta.url);
const PRECOMPILED = join(PACKAGE_ROOT, 'dist', 'templates.cjs');
// Part of the source hash: a dist/templates.cjs of another format (Handlebars'
// precompiled specs, before) is stale whatever its templates.
const FORMAT = 'mkimages compile-template 1';
let compiled: Templates | undefined;

export interface Templates {
  main: Template;
  /** generated/rules/<key>.mk: the rules of the images of one rules file. */
  rules: Template;
  /** generated/mkimages.sh, the same for every tree. */
  script: string;
}

/** templates/templates.json with the text of every template it names. */
export function readTemplateSources(): { config: Config; sources: TemplateSources; sourceHash: string } {
  const read = (name: string) => readFileSync(join(TEMPLATE_DIR, name), 'utf8');
  const config = JSON.parse(read('templates.json')) as Config;
  const names = [...config.partials, ...Object.values(config.templates)].sort();
  const files = Object.fromEntries(names.map((n) => [n, read(n)]));
  const sources = { files, templates: config.templates, partials: config.partials, options: config.options as Record<string, unknown> };
  return { config, sources, sourceHash: hashSources(sources) };
}

/** What dist/templates.cjs records: the templates (and options) it was compiled from. */
function hashSources(sources: TemplateSources): string {
  const hash = createHash('sha256').update(`${FORMAT}\0${JSON.stringify([sources.templates, sources.partials, sources.options])}\0`);
  for (const name of Object.keys(sources.files).sort()) hash.update(`${name}\0${sources.files[name]}\0`);
  return hash.digest('hex');
}

/**
 * The templates as plain functions (generator/render/compile-template.ts):
 * compiled by the build into dist/templates.cjs when that matches the
 * sources, else compiled here. `usePrecompiled = false` gives them rendered
 * by Handlebars itself instead, the reference the compiled ones are tested
 * against.
 */
export function loadTemplates(usePrecompiled = true): Templates {
  if (compiled && usePrecompiled) return compiled;
  const { config, sources, sourceHash } = readTemplateSources();
  const script = readFileSync(join(TEMPLATE_DIR, 'mkimages.sh'), 'utf8');
  if (!usePrecompiled) {
    const hb = (require('handlebars') as Environment).create();
    for (const p of config.partials) hb.registerPartial(p.replace(/\.mk\.hbs$/, ''), sources.files[p]);
    return { main: hb.compile(sources.files[config.templates.main], config.options), rules: hb.compile(sources.files[config.templates.rules], config.options), script };
  }
  const precompiled = existsSync(PRECOMPILED) ? (require(PRECOMPILED) as Precompiled) : undefined;
  const fns = precompiled?.sourceHash === sourceHash ? precompiled : (compileTemplates(sources) as unknown as Precompiled);
  compiled = { main: fns.main, rules: fns.rules, script };
  return compiled;
}
