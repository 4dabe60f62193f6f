// Each image's platforms and the Dockerfile (and ignore file) per platform.
// Platforms come from image.yaml, else the base image keys, else the
// repository's defaults; the Dockerfile is the most specific one present.

import { Diagnostics } from '../diagnostics.js';
import { checkReference, REGISTRY_TOKEN } from '../parse/baseimage.js';
import type { ParsedDockerfile } from '../parse/dockerfile.js';
import { ARCH_ALIASES, comparePlatforms, platformKey, platformSpec, type Platform } from '../parse/grammar.js';
import { unknownOsVersionMessage, windowsOsVersionFull } from './settings.js';
import { yamlBaseImages, yamlPlatforms, type ImageSource } from './source.js';
import type { PlatformBuild, Settings } from './types.js';

/** A platform's build before the dependency graph: PlatformBuild without parents, plus what hashing and checks need. */
export interface PlatformPlan extends Omit<PlatformBuild, 'parents'> {
  /** sha256 of the Dockerfile's bytes. */
  dockerfileDigest: string;
  /** The ignore file Docker reads for this Dockerfile (`<Dockerfile>.dockerignore`, `.dockerignore`), or "". */
  ignoreFile: string;
  parsed?: ParsedDockerfile;
}

export interface Where {
  file: string;
  line?: number;
}

/** Base image per platform key: BASEIMAGE's entries, else image.yaml's valid baseImage entries. */
export function baseImagesOf(src: ImageSource): Map<string, { platform: Platform; ref: string }> {
  const out = new Map<string, { platform: Platform; ref: string }>();
  if (src.baseImages) {
    for (const b of src.baseImages) out.set(platformKey(b.platform), { platform: b.platform, ref: b.ref });
    return out;
  }
  for (const b of yamlBaseImages(src)) {
    if (typeof b.platform !== 'string' && !checkReference(b.value, `baseImage.${b.key}`)) out.set(platformKey(b.platform), { platform: b.platform, ref: b.value });
  }
  return out;
}

/** Where each platform's base image was given (BASEIMAGE line, else image.yaml key). */
export function baseImagesAt(src: ImageSource): Map<string, Where> {
  const out = new Map<string, Where>();
  for (const b of src.baseImages ?? []) out.set(platformKey(b.platform), { file: `${src.dir}/BASEIMAGE`, line: b.line });
  for (const b of yamlBaseImages(src)) {
    if (typeof b.platform !== 'string' && !out.has(platformKey(b.platform))) out.set(platformKey(b.platform), { file: src.yamlFile!, line: src.lineOf(['baseImage', b.key]) });
  }
  return out;
}

/** The platforms an image is built for, sorted. */
function platformsOf(src: ImageSource, settings: Settings): Platform[] {
  const listed = yamlPlatforms(src);
  let platforms: Platform[];
  if (listed) platforms = listed.filter((p): p is Platform => typeof p !== 'string');
  else {
    const bases = baseImagesOf(src);
    platforms = bases.size > 0 ? [...bases.values()].map((b) => b.platform) : settings.defaultPlatforms;
  }
  return [...platforms].sort(comparePlatforms);
}

/** Dockerfiles that can build a platform, most specific first. */
function candidates(p: Platform): string[] {
  if (p.os === 'windows') return ['Dockerfile_windows', 'Dockerfile'];
  return [`Dockerfile.${p.arch}`, ...Object.entries(ARCH_ALIASES).filter(([, a]) => a === p.arch).map(([u]) => `Dockerfile.${u}`), 'Dockerfile'];
}

/**
 * Whether a RUN step executes on the target platform: in a stage with no
 * --platform flag (or --platform=$TARGETPLATFORM). Stages pinned to
 * $BUILDPLATFORM or to an explicit platform run natively or as declared.
 */
function runsOnTarget(df: ParsedDockerfile | undefined): boolean {
  if (!df) return false;
  return df.instructions.some((i) => {
    if (i.keyword !== 'RUN' || i.stage < 0) return false;
    const flag = df.stages[i.stage].platform;
    return flag === undefined || /TARGETPLATFORM/.test(flag);
  });
}

/** The build of each platform; a platform with no Dockerfile for it is reported and left out. A mirror builds none. */
export function planPlatforms(src: ImageSource, settings: Settings, diags: Diagnostics): PlatformPlan[] {
  if (src.yaml.mirror !== undefined) return [];
  const { files, dir } = src;
  const baseImages = baseImagesOf(src);
  const baseAt = baseImagesAt(src);
  // Where a platform without a Dockerfile was asked for (defaults are asked for nowhere).
  const declaredAt = (p: Platform): (Where & { source: string }) | undefined => {
    const key = platformKey(p);
    const i = (yamlPlatforms(src) ?? []).findIndex((q) => typeof q !== 'string' && platformKey(q) === key);
    if (i >= 0) return { file: src.yamlFile!, line: src.lineOf(['platforms', i]), source: 'listed in platforms' };
    const b = baseAt.get(key);
    return b ? { ...b, source: 'a base image key' } : undefined;
  };
  const plans: PlatformPlan[] = [];
  const missingDefaults: string[] = [];
  for (const p of platformsOf(src, settings)) {
    const key = platformKey(p);
    const dockerfile = candidates(p).find((c) => files.has(c));
    if (!dockerfile) {
      const where = declaredAt(p);
      const found = src.dockerfiles.length > 0 ? `only ${[...src.dockerfiles].sort().join(', ')}` : 'none';
      if (where) diags.error(where.file, where.line, `no Dockerfile for ${platformSpec(p)} (${where.source}), expected one of ${candidates(p).join(', ')} in ${dir}, found ${found}`);
      else missingDefaults.push(platformSpec(p));
      continue;
    }
    const ignoreFile = files.has(`${dockerfile}.dockerignore`) ? `${dockerfile}.dockerignore` : files.has('.dockerignore') ? '.dockerignore' : '';
    const parsed = src.parsed.get(dockerfile);
    const osVersionFull = p.os === 'windows' ? windowsOsVersionFull(settings, p.osVersion!) : undefined;
    if (p.os === 'windows' && osVersionFull === undefined) {
      // A default platform is reported once, in mkimages.yaml (settings.ts).
      const where = declaredAt(p);
      if (where) diags.warn(where.file, where.line, unknownOsVersionMessage(settings, p.osVersion!, platformSpec(p)));
    }
    plans.push({
      platform: p,
      key,
      spec: `${p.os}/${p.arch}`,
      dockerfile,
      dockerfileDigest: files.get(dockerfile)?.digest ?? '',
      ignoreFile,
      baseImage: baseImages.get(key)?.ref,
      parsed,
      runsOnTarget: runsOnTarget(parsed),
      osVersionFull,
    });
  }
  if (missingDefaults.length > 0) {
    // Reported once, at the Dockerfile that is there (Dockerfile_windows alone, or Dockerfile.<arch>).
    const present = [...src.dockerfiles].sort();
    diags.error(
      present.length > 0 ? `${dir}/${present[0]}` : dir,
      undefined,
      `cannot build the repository's default platforms ${missingDefaults.join(', ')} (the image names no platforms), expected a Dockerfile or Dockerfile.<arch> for them, or the image's platforms in BASEIMAGE or image.yaml platforms:, found only ${present.join(', ')}`,
    );
  }
  return plans;
}

export const LOCAL_TOKEN = 'LOCAL_PREFIX';

/** The build args a generated rule passes for a platform, for expanding FROM lines. */
export function fromArgs(plan: PlatformPlan, buildArgs: ReadonlyArray<readonly [string, string]>): Map<string, string | undefined> {
  const args = new Map<string, string | undefined>(plan.parsed?.globalArgs ?? []);
  for (const [k, v] of buildArgs) args.set(k, v);
  args.set('REGISTRY', REGISTRY_TOKEN);
  args.set('LOCAL_PREFIX', LOCAL_TOKEN);
  args.set('OS_VERSION', plan.platform.osVersion ?? '');
  args.set('BASEIMAGE', plan.baseImage ?? plan.parsed?.globalArgs.get('BASEIMAGE'));
  args.set('TARGETOS', plan.platform.os);
  args.set('TARGETARCH', plan.platform.arch);
  return args;
}
