// Each image's platforms and the Dockerfile (and ignore file) per platform.
// Platforms come from image.yaml, else the base image keys, else they follow
// the Dockerfiles: each Dockerfile.<arch> (gVisor: x86_64, aarch64) is
// linux/<arch>, and the repository's default platforms apply where a plain
// Dockerfile (or Dockerfile_windows, for Windows) covers them. The
// Dockerfile of a platform is the most specific one present.

import { Diagnostics } from '../diagnostics.js';
import { checkReference, REGISTRY_TOKEN } from '../parse/baseimage.js';
import type { ParsedDockerfile } from '../parse/dockerfile.js';
import { ARCH_ALIASES, comparePlatforms, platformKey, platformSpec, type Platform } from '../parse/grammar.js';
import { unknownOsVersionMessage, windowsOsVersionFull } from './settings.js';
import { dockerfileArch } from './image-folders.js';
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

const baseImagesBySource = new WeakMap<ImageSource, ReadonlyMap<string, { platform: Platform; ref: string }>>();

/** Base image per platform key: BASEIMAGE's entries, else image.yaml's valid baseImage entries. Worked out once per image: rules, platforms and the graph all ask. */
export function baseImagesOf(src: ImageSource): ReadonlyMap<string, { platform: Platform; ref: string }> {
  let known = baseImagesBySource.get(src);
  if (!known) baseImagesBySource.set(src, (known = readBaseImages(src)));
  return known;
}

function readBaseImages(src: ImageSource): Map<string, { platform: Platform; ref: string }> {
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

const baseImagesAtBySource = new WeakMap<ImageSource, ReadonlyMap<string, Where>>();

/** Where each platform's base image was given (BASEIMAGE line, else image.yaml key); once per image, as baseImagesOf. */
export function baseImagesAt(src: ImageSource): ReadonlyMap<string, Where> {
  let known = baseImagesAtBySource.get(src);
  if (!known) baseImagesAtBySource.set(src, (known = readBaseImagesAt(src)));
  return known;
}

function readBaseImagesAt(src: ImageSource): Map<string, Where> {
  const out = new Map<string, Where>();
  for (const b of src.baseImages ?? []) out.set(platformKey(b.platform), { file: `${src.dir}/BASEIMAGE`, line: b.line });
  for (const b of yamlBaseImages(src)) {
    if (typeof b.platform !== 'string' && !out.has(platformKey(b.platform))) out.set(platformKey(b.platform), { file: src.yamlFile!, line: src.lineOf(['baseImage', b.key]) });
  }
  return out;
}

/** Whether the image names its platforms (image.yaml platforms, BASEIMAGE or baseImage) rather than following its Dockerfiles. */
function namesPlatforms(src: ImageSource): boolean {
  return src.yaml.platforms !== undefined || baseImagesOf(src).size > 0;
}

/** The platforms an image is built for, sorted. */
function platformsOf(src: ImageSource, settings: Settings): Platform[] {
  const listed = yamlPlatforms(src);
  let platforms: Platform[];
  if (listed) platforms = listed.filter((p): p is Platform => typeof p !== 'string');
  else if (baseImagesOf(src).size > 0) platforms = [...baseImagesOf(src).values()].map((b) => b.platform);
  else {
    const byKey = new Map<string, Platform>();
    for (const p of settings.defaultPlatforms) {
      const covered = src.files.has('Dockerfile') || (p.os === 'windows' && src.files.has('Dockerfile_windows'));
      if (covered) byKey.set(platformKey(p), p);
    }
    for (const f of src.dockerfiles) {
      const arch = dockerfileArch(f);
      if (arch !== undefined && !byKey.has(`linux-${arch}`)) byKey.set(`linux-${arch}`, { os: 'linux', arch });
    }
    platforms = [...byKey.values()];
  }
  return platforms.sort(comparePlatforms);
}

const CANDIDATES = new Map<string, string[]>();

/** Dockerfiles that can build a platform, most specific first. */
function candidates(p: Platform): string[] {
  const key = `${p.os}/${p.arch}`;
  let list = CANDIDATES.get(key);
  if (!list) {
    list =
      p.os === 'windows'
        ? ['Dockerfile_windows', 'Dockerfile']
        : [`Dockerfile.${p.arch}`, ...Object.entries(ARCH_ALIASES).filter(([, a]) => a === p.arch).map(([u]) => `Dockerfile.${u}`), 'Dockerfile'];
    CANDIDATES.set(key, list);
  }
  return list;
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
  // Where a platform the image names was asked for.
  const declaredAt = (p: Platform): (Where & { source: string }) | undefined => {
    const key = platformKey(p);
    const i = (yamlPlatforms(src) ?? []).findIndex((q) => typeof q !== 'string' && platformKey(q) === key);
    if (i >= 0) return { file: src.yamlFile!, line: src.lineOf(['platforms', i]), source: 'listed in platforms' };
    const b = baseAt.get(key);
    return b ? { ...b, source: 'a base image key' } : undefined;
  };
  const plans: PlatformPlan[] = [];
  const platforms = platformsOf(src, settings);
  if (platforms.length === 0 && !namesPlatforms(src)) {
    // Dockerfile_windows alone, and no Windows default platform.
    const present = [...src.dockerfiles].sort();
    diags.error(
      present.length > 0 ? `${dir}/${present[0]}` : dir,
      undefined,
      `cannot build the repository's default platforms ${settings.defaultPlatforms.map(platformSpec).join(', ')} (the image names no platforms), expected a Dockerfile or Dockerfile.<arch> for them, or the image's platforms in BASEIMAGE or image.yaml platforms:, found only ${present.join(', ')}`,
    );
  }
  for (const p of platforms) {
    const key = platformKey(p);
    const dockerfile = candidates(p).find((c) => files.has(c));
    if (!dockerfile) {
      // Only a platform the image names can lack one: the others follow the Dockerfiles.
      const where = declaredAt(p)!;
      const found = src.dockerfiles.length > 0 ? `only ${[...src.dockerfiles].sort().join(', ')}` : 'none';
      diags.error(where.file, where.line, `no Dockerfile for ${platformSpec(p)} (${where.source}), expected one of ${candidates(p).join(', ')} in ${dir}, found ${found}`);
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
