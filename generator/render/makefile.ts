// Renders generated/images.mk from the model. Templates only loop over the
// fields prepared here; escaping happens in escape.ts and nowhere else.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REGISTRY_TOKEN } from '../parse/baseimage.js';
import { LISTING_COMMAND, STALE_AWK } from '../hash/fingerprint.js';
import type { Image, Model } from '../model/types.js';
import { PACKAGE_ROOT, TEMPLATE_DIR } from '../paths.js';
import { makeShellWord } from './escape.js';

type Template = (context: unknown) => string;
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
let compiled: { main: Template; rules: Template } | undefined;

/**
 * A private Handlebars environment with the templates: precompiled by the
 * build when dist/templates.cjs matches the sources (only the small runtime
 * is loaded), else compiled here. Both give the same output.
 */
export function templates(usePrecompiled = true): { main: Template; rules: Template } {
  if (compiled && usePrecompiled) return compiled;
  const read = (name: string) => readFileSync(join(TEMPLATE_DIR, name), 'utf8');
  const sources = JSON.parse(read('templates.json')) as Sources;
  const hash = createHash('sha256');
  for (const name of [...sources.partials, ...Object.values(sources.templates)].sort()) hash.update(`${name}\0${read(name)}\0`);
  const precompiled = existsSync(PRECOMPILED) ? (require(PRECOMPILED) as Precompiled) : undefined;
  if (usePrecompiled && precompiled?.sourceHash === hash.digest('hex')) {
    const hb = (require('handlebars/runtime') as { default: Environment }).default.create();
    for (const p of sources.partials) hb.registerPartial(p.replace(/\.mk\.hbs$/, ''), hb.template(precompiled.partials[p]));
    compiled = { main: hb.template(precompiled.templates.main), rules: hb.template(precompiled.templates.rules) };
  } else {
    const hb = (require('handlebars') as Environment).create();
    for (const p of sources.partials) hb.registerPartial(p.replace(/\.mk\.hbs$/, ''), read(p));
    const runtime = { main: hb.compile(read(sources.templates.main), sources.options), rules: hb.compile(read(sources.templates.rules), sources.options) };
    if (!usePrecompiled) return runtime;
    compiled = runtime;
  }
  return compiled;
}

/** A BASEIMAGE value for make: the REGISTRY token becomes $(REGISTRY), resolved at make time. */
export function baseImageForMake(ref: string): string {
  return ref.split(REGISTRY_TOKEN).join('$(REGISTRY)');
}

function buildArgsWords(img: Image): string {
  const words: string[] = [];
  for (const [k, v] of img.buildArgs) words.push('--build-arg', makeShellWord(`${k}=${v}`));
  for (const [k, v] of img.labels) words.push('--label', makeShellWord(`${k}=${v}`));
  return words.map((w) => ` ${w}`).join('');
}

/** `tools/lister` → `tools_lister.tar.gz` (one file per image under ARCHIVE_DIR). */
function archiveName(name: string): string {
  return `${name.replace(/\//g, '_')}.tar.gz`;
}

function imageView(img: Image) {
  return {
    name: img.name,
    dir: img.dir,
    repo: img.publishedName,
    tag: img.tag,
    hash: img.hash,
    mirror: img.mirror ?? '',
    archive: archiveName(img.name),
    platformKeys: img.platforms.map((p) => p.key).join(' '),
    args: buildArgsWords(img),
    stage: img.staged,
    bin: img.binStep,
    parents: img.parents,
    platforms: img.platforms.map((p) => ({
      key: p.key,
      spec: p.key.split('-').slice(0, 2).join('/') + (p.platform.osVersion ? ` (${p.platform.osVersion})` : ''),
      dockerfile: p.dockerfile,
      baseImage: p.baseImage ? baseImageForMake(p.baseImage) : '',
      run: p.runsOnTarget,
      parents: p.parents.map((r) => ({ name: r.name, key: r.key ?? '' })),
    })),
  };
}

/** What the templates see. */
export function viewOf(model: Model) {
  return {
    settings: { registry: model.settings.registry, localPrefix: model.settings.localPrefix, source: model.settings.source ?? '' },
    windowsOsVersions: Object.fromEntries(Object.entries(model.settings.windowsOsVersions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    listingCommand: LISTING_COMMAND,
    staleAwk: STALE_AWK.replace(/\$/g, '$$$$'),
    images: model.images.map(imageView),
    allImages: model.images.map((i) => i.name).join(' '),
    allRefs: model.images.map((i) => `${i.publishedName}:${i.tag}`).join(' '),
    promotedRefs: model.images.filter((i) => i.promote).map((i) => `${i.publishedName}:${i.tag}`).join(' '),
    groups: [...model.groups].map(([name, members]) => ({ name, members: members.join(' ') })),
  };
}

/** generated/images.mk (settings, macros, aggregates) and generated/images.rules.mk (per image). */
export function renderMakefile(model: Model): { main: string; rules: string } {
  const view = viewOf(model);
  const t = templates();
  return { main: t.main(view), rules: t.rules(view) };
}
