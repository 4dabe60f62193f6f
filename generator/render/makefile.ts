// Renders generated/images.mk from the model. Templates only loop over the
// fields prepared here; escaping happens in escape.ts and nowhere else.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { REGISTRY_TOKEN } from '../parse/baseimage.js';
import { LISTING_COMMAND, STALE_AWK } from '../hash/fingerprint.js';
import type { Image, Model } from '../model/types.js';
import { TEMPLATE_DIR } from '../paths.js';
import { makeShellWord } from './escape.js';

type Template = (context: unknown) => string;

let compiled: { main: Template; rules: Template } | undefined;

function templates(): { main: Template; rules: Template } {
  if (compiled) return compiled;
  const hb = Handlebars.create();
  const read = (name: string) => readFileSync(join(TEMPLATE_DIR, name), 'utf8');
  for (const partial of ['header', 'image', 'mirror', 'aggregates']) hb.registerPartial(partial, read(`${partial}.mk.hbs`));
  const options = { noEscape: true, strict: true, knownHelpersOnly: true, knownHelpers: { each: true, if: true } } as const;
  compiled = { main: hb.compile(read('images.mk.hbs'), options), rules: hb.compile(read('images.rules.mk.hbs'), options) };
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

/** generated/images.mk (settings, macros, aggregates) and generated/images.rules.mk (per image). */
export function renderMakefile(model: Model): { main: string; rules: string } {
  const view = {
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
  const t = templates();
  return { main: t.main(view), rules: t.rules(view) };
}
