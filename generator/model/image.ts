// From what the user wrote (ImageSource) to the normalized Image of
// types.ts: published name, version, platforms, args, labels, groups. Values
// that a rule rejects fall back to what they would be without them; a run
// with errors writes nothing, so the fallback only keeps later checks quiet.

import { compareStrings, Diagnostics } from '../diagnostics.js';
import { isRepositoryPath, parseReference, TAG_RE } from '../parse/grammar.js';
import { sha256Hex } from '../hash/sha256.js';
import { compareBytes } from '../scan/tree.js';
import { planPlatforms, type PlatformPlan, type Where } from './platforms.js';
import { annotationProblem, GROUP_RE, mirrorProblem, stringPairs } from './rules.js';
import { ANNOTATION_KEYS, text, type ImageSource } from './source.js';
import type { Image, ParentRef, Settings } from './types.js';

/** An image with its own values resolved, before the dependency graph and hashes. */
export interface ResolvedImage {
  source: ImageSource;
  name: string;
  dir: string;
  publishedName: string;
  version?: string;
  platforms: PlatformPlan[];
  buildArgs: Array<[string, string]>;
  labels: Array<[string, string]>;
  annotations: Array<[string, string]>;
  groups: string[];
  /** image.yaml dependsOn, with lines. */
  dependsOn: Array<{ name: string; line?: number }>;
  mirror?: string;
  promote: boolean;
  /** Where the published name and version were given, for messages about them. */
  publishedAt: Where;
  binStep: boolean;
  staged: boolean;
}

export function resolveImage(src: ImageSource, settings: Settings, diags: Diagnostics): ResolvedImage {
  const y = src.yaml;
  const groups = new Set<string>();
  // Each folder above a nested image is a group of it.
  const parts = src.name.split('/');
  for (let i = 1; i < parts.length; i++) groups.add(parts.slice(0, i).join('/'));
  for (const g of y.groups ?? []) if (GROUP_RE.test(g)) groups.add(g);
  // Kubernetes: a Makefile with a `bin` target prepares the context.
  const binStep = /^bin\s*:/m.test(text(src.files.get('Makefile')) ?? '');
  return {
    source: src,
    name: src.name,
    dir: src.dir,
    publishedName: src.alias?.value ?? (y.name !== undefined && isRepositoryPath(y.name) ? y.name : src.name),
    version: src.version?.value ?? (y.version !== undefined && TAG_RE.test(y.version) ? y.version : undefined),
    platforms: planPlatforms(src, settings, diags),
    buildArgs: stringPairs(y.buildArgs),
    labels: stringPairs(y.labels),
    annotations: annotationsOf(src),
    groups: [...groups].sort(),
    dependsOn: (y.dependsOn ?? []).map((d, i) => ({ name: d, line: src.lineOf(['dependsOn', i]) })),
    mirror: y.mirror !== undefined && !mirrorProblem(y.mirror) ? y.mirror : undefined,
    promote: y.promote ?? true,
    publishedAt: publishedAt(src),
    binStep,
    staged: binStep || src.dockerfiles.some((f) => namesStagedTokens(src.files.get(f)?.content)),
  };
}

/**
 * Whether a Dockerfile mentions BASEARCH or CROSS_BUILD_ anywhere. Searched
 * in the bytes: ASCII words are found in UTF-8 bytes exactly when they are
 * in the decoded text, and no text is made for the thousand Dockerfiles
 * that do not.
 */
function namesStagedTokens(bytes: Buffer | undefined): boolean {
  return bytes !== undefined && (bytes.includes('BASEARCH') || bytes.includes('CROSS_BUILD_'));
}

/** The valid title, description, licenses and url, as [full OCI key, value], sorted by key. */
function annotationsOf(src: ImageSource): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [field, key] of Object.entries(ANNOTATION_KEYS) as Array<[keyof typeof ANNOTATION_KEYS, string]>) {
    const value = src.yaml[field];
    if (value !== undefined && !annotationProblem(field, value)) out.push([key, value]);
  }
  return out.sort((a, b) => compareStrings(a[0], b[0]));
}

/** Where the published name and version were given, for the message about two folders publishing both. */
function publishedAt(src: ImageSource): Where {
  const y = src.yaml;
  if (src.version) return { file: `${src.dir}/VERSION`, line: src.version.line };
  if (y.version !== undefined) return { file: src.yamlFile!, line: src.lineOf(['version']) };
  if (src.alias) return { file: `${src.dir}/ALIAS`, line: src.alias.line };
  if (y.name !== undefined) return { file: src.yamlFile!, line: src.lineOf(['name']) };
  return { file: src.dir };
}

function compareParents(a: ParentRef, b: ParentRef): number {
  return compareBytes(a.name, b.name) || compareStrings(a.key ?? '', b.key ?? '');
}

/** What the graph, the hashes and the folder listings add to an image. */
export interface Derived {
  hash: string;
  parents: readonly string[];
  platformParents?: ReadonlyMap<string, ParentRef[]>;
  sums: string;
}

/** The Image the templates and the catalog see (nestedImages filled in by the caller). */
export function toImage(r: ResolvedImage, { hash, parents, platformParents, sums }: Derived): Image {
  return {
    name: r.name,
    dir: r.dir,
    underscoreName: r.name.replace(/\//g, '_'),
    ...(r.name.includes('/') ? { topFolder: r.name.slice(0, r.name.indexOf('/')) } : {}),
    publishedName: r.publishedName,
    version: r.version,
    tag: r.version ?? (r.mirror ? (parseReference(r.mirror)?.tag ?? hash) : hash),
    hash,
    platforms: r.platforms.map(({ platform, key, spec, dockerfile, baseImage, runsOnTarget, osVersionFull }) => ({
      platform,
      key,
      spec,
      dockerfile,
      baseImage,
      runsOnTarget,
      ...(osVersionFull !== undefined ? { osVersionFull } : {}),
      parents: [...(platformParents?.get(key) ?? [])].sort(compareParents),
    })),
    buildArgs: r.buildArgs,
    labels: r.labels,
    annotations: r.annotations,
    parents: [...parents],
    groups: r.groups,
    mirror: r.mirror,
    promote: r.promote,
    binStep: r.binStep,
    staged: r.staged,
    nestedImages: [],
    sums,
    sumsDigest: sha256Hex(sums),
  };
}
