// Validation rules: each a small named function that looks at one concern
// and pushes diagnostics, so one run reports every problem. Image rules see
// what the user wrote for one image (ImageSource); tree rules see every
// image with its values resolved. Rules report; they decide no value.

import { compareStrings, Diagnostics, shown } from '../diagnostics.js';
import { checkReference, REGISTRY_TOKEN } from '../parse/baseimage.js';
import { isRepositoryPath, platformKey, TAG_RE } from '../parse/grammar.js';
import type { ResolvedImage } from './image.js';
import { baseImagesOf } from './platforms.js';
import { ANNOTATION_KEYS, yamlBaseImages, yamlPlatforms, type ImageSource } from './source.js';
import type { Settings } from './types.js';

type ImageRule = (src: ImageSource, diags: Diagnostics) => void;
type TreeRule = (images: readonly ResolvedImage[], settings: Settings, diags: Diagnostics) => void;

export const GROUP_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const NO_NEWLINE = /[\r\n\0]/;
/** Build args mkimages passes itself. */
const RESERVED_BUILD_ARGS = ['BASEIMAGE', 'REGISTRY', 'OS_VERSION', 'LOCAL_PREFIX'];

/** What is wrong with a mirror: reference, or undefined. */
export function mirrorProblem(mirror: string): string | undefined {
  return (
    checkReference(mirror, 'mirror') ??
    (mirror.includes(REGISTRY_TOKEN) ? `mirror names the REGISTRY token, expected an upstream image reference, found ${shown(mirror)}` : undefined)
  );
}

// --- One image ---------------------------------------------------------------

/** image.yaml name: a repository path, and the same as ALIAS. */
const nameAgreesWithAlias: ImageRule = (src, diags) => {
  const name = src.yaml.name;
  if (name === undefined) return;
  if (src.alias && src.alias.value !== name) {
    diags.error(src.yamlFile!, src.lineOf(['name']), `name disagrees with ALIAS, expected ${shown(src.alias.value)} as in ${src.dir}/ALIAS, found ${shown(name)}`);
  } else if (!isRepositoryPath(name)) {
    diags.error(src.yamlFile!, src.lineOf(['name']), `invalid name, expected a repository path of lowercase words joined by ".", "_", "__" or "-", found ${shown(name)}`);
  }
};

/** image.yaml version: a tag, and the same as VERSION. */
const versionAgreesWithVersionFile: ImageRule = (src, diags) => {
  const version = src.yaml.version;
  if (version === undefined) return;
  if (src.version && src.version.value !== version) {
    diags.error(src.yamlFile!, src.lineOf(['version']), `version disagrees with VERSION, expected ${shown(src.version.value)} as in ${src.dir}/VERSION, found ${shown(version)}`);
  } else if (!TAG_RE.test(version)) {
    diags.error(src.yamlFile!, src.lineOf(['version']), `invalid version, expected a tag of at most 128 letters, digits, "_", "." or "-", found ${shown(version)}`);
  }
};

/** image.yaml baseImage: platform keys and image references. */
const baseImageEntriesValid: ImageRule = (src, diags) => {
  for (const b of yamlBaseImages(src)) {
    const line = src.lineOf(['baseImage', b.key]);
    if (typeof b.platform === 'string') diags.error(src.yamlFile!, line, `invalid platform key in baseImage: ${b.platform}`);
    else {
      const problem = checkReference(b.value, `baseImage.${b.key}`);
      if (problem) diags.error(src.yamlFile!, line, problem);
    }
  }
};

/** image.yaml baseImage and BASEIMAGE, when both are given, say the same. */
const baseImageAgreesWithBaseimageFile: ImageRule = (src, diags) => {
  if (!src.yaml.baseImage || !src.baseImages) return;
  // Keyed by platform, as they are read: linux/x86_64 and linux/amd64 are one key.
  const fromFile = new Map(src.baseImages.map((b) => [platformKey(b.platform), b.ref]));
  const fromYaml = new Map<string, string>();
  for (const b of yamlBaseImages(src)) {
    if (typeof b.platform !== 'string' && !checkReference(b.value, '')) fromYaml.set(platformKey(b.platform), b.value);
  }
  const show = (m: Map<string, string>) => [...m].map(([k, ref]) => `${k}=${ref}`).sort().join(', ');
  const a = show(fromFile);
  const b = show(fromYaml);
  if (a !== b) {
    diags.error(src.yamlFile!, src.lineOf(['baseImage']), `baseImage disagrees with BASEIMAGE, expected ${a || 'nothing'} as in ${src.dir}/BASEIMAGE, found ${b || 'nothing'}`);
  }
};

/** image.yaml platforms: each os/arch[/os_version]. */
const platformsValid: ImageRule = (src, diags) => {
  yamlPlatforms(src)?.forEach((p, i) => {
    if (typeof p === 'string') diags.error(src.yamlFile!, src.lineOf(['platforms', i]), `invalid platform: ${p}`);
  });
};

/** image.yaml platforms are the keys of the base images, when there are base images. */
const platformsAgreeWithBaseImages: ImageRule = (src, diags) => {
  const listed = yamlPlatforms(src);
  const bases = baseImagesOf(src);
  if (!listed || bases.size === 0) return;
  const want = [...bases.keys()].sort().join(', ');
  const have = listed
    .filter((p) => typeof p !== 'string')
    .map((p) => platformKey(p as Exclude<typeof p, string>))
    .sort()
    .join(', ');
  if (want !== have) {
    diags.error(src.yamlFile!, src.lineOf(['platforms']), `platforms disagree with the base images, expected ${want} (the keys of ${src.baseImages ? `${src.dir}/BASEIMAGE` : 'baseImage'}), found ${have || 'nothing'}`);
  }
};

/** A mirror is an upstream reference, and comes alone: no Dockerfile, no base images. */
const mirrorAlone: ImageRule = (src, diags) => {
  const mirror = src.yaml.mirror;
  if (mirror === undefined) return;
  const line = src.lineOf(['mirror']);
  const problem = mirrorProblem(mirror);
  if (problem) diags.error(src.yamlFile!, line, problem);
  if (src.dockerfiles.length > 0) {
    diags.error(src.yamlFile!, line, `mirror: is set together with ${[...src.dockerfiles].sort().join(', ')}, expected either an upstream mirror or a Dockerfile, found both`);
  }
  if (baseImagesOf(src).size > 0) diags.error(src.yamlFile!, line, 'mirror: is set together with base images, expected no BASEIMAGE or baseImage for a mirror');
};

/** An image.yaml alone must say what to mirror. */
const dockerfileOrMirror: ImageRule = (src, diags) => {
  if (!isBuildable(src)) {
    diags.error(src.yamlFile ?? `${src.dir}/image.yaml`, undefined, 'no Dockerfile and no mirror:, expected a Dockerfile (or Dockerfile_windows, Dockerfile.<arch>) beside image.yaml, or mirror: <upstream image>');
  }
};

/** Build args and labels are carried literally; a line break cannot be. */
const singleLineValues: ImageRule = (src, diags) => {
  for (const kind of ['buildArgs', 'labels'] as const) {
    for (const [k, v] of Object.entries(src.yaml[kind] ?? {})) {
      if (NO_NEWLINE.test(String(v))) diags.error(src.yamlFile!, src.lineOf([kind, k]), `${kind}.${k} spans several lines, expected a single-line value, found a line break`);
    }
  }
};

const reservedBuildArgs: ImageRule = (src, diags) => {
  for (const reserved of RESERVED_BUILD_ARGS) {
    if (src.yaml.buildArgs && reserved in src.yaml.buildArgs) {
      diags.error(src.yamlFile!, src.lineOf(['buildArgs', reserved]), `buildArgs.${reserved} is set by mkimages, expected another name, found ${reserved}`);
    }
  }
};

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** An http(s) URL: scheme, host, then no whitespace or control character. */
export function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\/[^\s/?#@]+(?:[/?#]\S*)?$/.test(value) || CONTROL.test(value)) return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** What is wrong with an annotation value (title, description, licenses, url), or undefined. */
export function annotationProblem(field: keyof typeof ANNOTATION_KEYS, value: string): string | undefined {
  if (value.trim() === '') return `${field} is empty, expected one line of text, found ${shown(value)}`;
  if (CONTROL.test(value)) return `${field} holds a line break or control character, expected one line of printable text, found ${shown(value)}`;
  if (field === 'url' && !isHttpUrl(value)) return `url is not an http(s) URL, expected https://host/path (or http://), found ${shown(value)}`;
  return undefined;
}

/** title, description, licenses and url: one line of text each (url an http(s) URL), not given as a label too. */
const annotationsValid: ImageRule = (src, diags) => {
  for (const [field, key] of Object.entries(ANNOTATION_KEYS) as Array<[keyof typeof ANNOTATION_KEYS, string]>) {
    const value = src.yaml[field];
    if (value === undefined) continue;
    const problem = annotationProblem(field, value);
    if (problem) diags.error(src.yamlFile!, src.lineOf([field]), problem);
    if (src.yaml.labels && key in src.yaml.labels) {
      diags.error(src.yamlFile!, src.lineOf(['labels', key]), `labels.${key} is set together with ${field}, expected the value once (${field}: sets the label), found both`);
    }
  }
};

const validGroups: ImageRule = (src, diags) => {
  src.yaml.groups?.forEach((g, i) => {
    if (!GROUP_RE.test(g)) diags.error(src.yamlFile!, src.lineOf(['groups', i]), `invalid group name, expected lowercase letters, digits, ".", "_" or "-" (and "/"), found ${shown(g)}`);
  });
};

const IMAGE_RULES: readonly ImageRule[] = [
  nameAgreesWithAlias,
  versionAgreesWithVersionFile,
  baseImageEntriesValid,
  baseImageAgreesWithBaseimageFile,
  platformsValid,
  platformsAgreeWithBaseImages,
  mirrorAlone,
  dockerfileOrMirror,
  singleLineValues,
  reservedBuildArgs,
  validGroups,
  annotationsValid,
];

/** Whether the folder says how to make the image: a Dockerfile, or mirror:. */
export function isBuildable(src: ImageSource): boolean {
  return src.yaml.mirror !== undefined || src.dockerfiles.length > 0;
}

// --- Across images -------------------------------------------------------------

/** Two folders publishing one name need different versions. */
const publishedVersionsOnce: TreeRule = (images, _settings, diags) => {
  const byPublished = new Map<string, ResolvedImage[]>();
  for (const img of images) byPublished.set(img.publishedName, [...(byPublished.get(img.publishedName) ?? []), img]);
  for (const [pub, list] of byPublished) {
    if (list.length < 2) continue;
    const seen = new Map<string, ResolvedImage>();
    for (const img of list) {
      // Without a version the tag is the content hash: different content, different tags.
      if (img.version === undefined) continue;
      const other = seen.get(img.version);
      if (other) {
        diags.error(img.publishedAt.file, img.publishedAt.line, `publishes ${pub}:${img.version} like ${other.dir}, expected each published name and version once, found it twice`);
      } else seen.set(img.version, img);
    }
  }
};

/** Image `a-linux-amd64` would clash with `a`'s platform target. */
const platformTargetsDistinct: TreeRule = (images, _settings, diags) => {
  const byName = new Map(images.map((i) => [i.name, i]));
  for (const img of images) {
    for (const p of img.platforms) {
      const clash = byName.get(`${img.name}-${p.key}`);
      if (clash) diags.error(clash.dir, undefined, `folder name clashes with the platform target build-${img.name}-${p.key} of ${img.dir}, expected another name`);
    }
  }
};

/** build-all-images (and, for gVisor, load-all-test-images) is a target of its own. */
const allImagesReserved: TreeRule = (images, settings, diags) => {
  for (const img of images) {
    if (img.name === 'all-images') diags.error(img.dir, undefined, 'folder name clashes with the targets build-all-images, push-all-images and load-all-images, expected another name, found "all-images"');
    if (settings.compatibility === 'gvisor' && img.name === 'all-test-images') {
      diags.error(img.dir, undefined, 'folder name clashes with the gVisor targets list-all-test-images, load-all-test-images and push-all-test-images (compatibility: gvisor), expected another name, found "all-test-images"');
    }
  }
};

/**
 * gVisor names images with "/" written "_" (load-basic_alpine): under
 * compatibility: gvisor, a_b and a/b would be one target. And load-<folder>
 * loads every image below a top-level folder, so that folder cannot be an
 * image of its own too.
 */
const gvisorNamesDistinct: TreeRule = (images, settings, diags) => {
  if (settings.compatibility !== 'gvisor') return;
  const byUnderscore = new Map<string, ResolvedImage>();
  const byName = new Map(images.map((i) => [i.name, i]));
  for (const img of images) {
    const u = img.name.replace(/\//g, '_');
    const other = byUnderscore.get(u);
    if (other) {
      diags.error(
        img.dir,
        undefined,
        `folder name clashes with ${other.dir} under compatibility: gvisor (gVisor's targets write "/" as "_": load-${u}), expected names that differ with "/" written "_", found ${shown(other.name)} and ${shown(img.name)}`,
      );
    } else byUnderscore.set(u, img);
  }
  const tops = new Set(images.filter((i) => i.name.includes('/')).map((i) => i.name.slice(0, i.name.indexOf('/'))));
  for (const top of tops) {
    const img = byName.get(top);
    if (img) {
      diags.error(
        img.dir,
        undefined,
        `image folder holds other images, so under compatibility: gvisor load-${top} would be both this image and the group of the images below it, expected images only in the folders below ${img.dir}, or none below it, found ${images.filter((i) => i.name.startsWith(`${top}/`)).length} image(s) below it`,
      );
    }
  }
};

/** build-group-G is a target of its own. */
const groupTargetsDistinct: TreeRule = (images, _settings, diags) => {
  const byName = new Map(images.map((i) => [i.name, i]));
  for (const g of new Set(images.flatMap((i) => i.groups))) {
    const clashing = byName.get(`group-${g}`);
    if (clashing) diags.error(clashing.dir, undefined, `folder name clashes with the target build-group-${g} of the group ${shown(g)}, expected another name, found ${shown(clashing.name)}`);
  }
};

const TREE_RULES: readonly TreeRule[] = [publishedVersionsOnce, platformTargetsDistinct, allImagesReserved, groupTargetsDistinct, gvisorNamesDistinct];

export function checkImage(src: ImageSource, diags: Diagnostics): void {
  for (const rule of IMAGE_RULES) rule(src, diags);
}

export function checkTree(images: readonly ResolvedImage[], settings: Settings, diags: Diagnostics): void {
  for (const rule of TREE_RULES) rule(images, settings, diags);
}

/** Sorted [key, value] pairs of a string map from image.yaml. */
export function stringPairs(m: Record<string, string | number | boolean> | undefined): Array<[string, string]> {
  return Object.entries(m ?? {})
    .map(([k, v]): [string, string] => [k, String(v)])
    .sort((a, b) => compareStrings(a[0], b[0]));
}
