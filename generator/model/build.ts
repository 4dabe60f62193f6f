// From what the user wrote to the normalized model. Pure: the raw tree in,
// the model and diagnostics out. Each concept has its own function; cross-
// image rules (published-name clashes, dependencies, cycles) run once every
// image has been read, so one run reports every problem.

import { compareStrings, Diagnostics, shown } from '../diagnostics.js';
import { contentHash, filterContext, type ContextEntry } from '../hash/content.js';
import { listTree } from '../hash/fingerprint.js';
import { parseBaseimage, checkReference, REGISTRY_TOKEN, type BaseImageEntry } from '../parse/baseimage.js';
import { expandArgs, parseDockerfile, type ParsedDockerfile } from '../parse/dockerfile.js';
import {
  ARCH_ALIASES,
  ARCHES,
  comparePlatforms,
  parsePlatform,
  parseReference,
  PATH_COMPONENT_RE,
  REPOSITORY_PATH,
  TAG_RE,
  platformKey,
  platformSpec,
  type Platform,
} from '../parse/grammar.js';
import { parseAlias, parseVersion } from '../parse/single-line.js';
import { parseYamlFile } from '../parse/yaml-file.js';
import { compareBytes, type RawTree, type TreeEntry } from '../scan/tree.js';
import type { Image, Model, ParentRef, PlatformBuild, Settings } from './types.js';

export const SETTINGS_FILE = 'images/mkimages.yaml';

const DEFAULT_SETTINGS: Settings = {
  defaultPlatforms: [{ os: 'linux', arch: 'amd64' }],
  registry: 'localhost:5000',
  localPrefix: 'mkimages.local',
  windowsOsVersions: {
    ltsc2019: '10.0.17763.6659',
    ltsc2022: '10.0.20348.2966',
    ltsc2025: '10.0.26100.2605',
  },
};

interface ImageYaml {
  name?: string;
  version?: string;
  platforms?: string[];
  baseImage?: Record<string, string>;
  buildArgs?: Record<string, string | number | boolean>;
  labels?: Record<string, string | number | boolean>;
  groups?: string[];
  dependsOn?: string[];
  mirror?: string;
  promote?: boolean;
}

interface SettingsYaml {
  defaultPlatforms?: string[];
  registry?: string;
  localPrefix?: string;
  source?: string;
  windowsOsVersions?: Record<string, string>;
}

/** One image folder as read, before cross-image rules. */
interface Draft {
  name: string;
  dir: string;
  entries: ContextEntry[];
  files: Map<string, TreeEntry>;
  publishedName: string;
  version?: string;
  platforms: Array<PlatformBuild & { dockerfileDigest: string; ignoreFile: string; parsed?: ParsedDockerfile }>;
  buildArgs: Array<[string, string]>;
  labels: Array<[string, string]>;
  groups: string[];
  dependsOn: Array<{ name: string; line?: number }>;
  yamlFile?: string;
  mirror?: string;
  promote: boolean;
  /** Where the published name and version were given, for messages about them. */
  publishedAt: { file: string; line?: number };
  /** Where each platform's base image was given (BASEIMAGE line or image.yaml key). */
  baseImageAt: Map<string, { file: string; line?: number }>;
  binStep: boolean;
  staged: boolean;
  /** Dependencies found while reading: [parent, child platform key or undefined, where]. */
  wants: Array<{ ref: string; kind: 'registry' | 'local' | 'name'; childKey?: string; fromPlatform?: string; file: string; line?: number }>;
}

const GROUP_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

function isImageMarker(base: string): boolean {
  if (base === 'Dockerfile' || base === 'Dockerfile_windows' || base === 'image.yaml') return true;
  return dockerfileArch(base) !== undefined;
}

/** `Dockerfile.arm64` / `Dockerfile.aarch64` → arm64. */
function dockerfileArch(base: string): string | undefined {
  if (!base.startsWith('Dockerfile.')) return undefined;
  const suffix = base.slice('Dockerfile.'.length);
  const arch = ARCH_ALIASES[suffix] ?? suffix;
  return (ARCHES as readonly string[]).includes(arch) ? arch : undefined;
}

function text(entry: TreeEntry | undefined): string | undefined {
  return entry?.content?.toString('utf8');
}

export function readSettings(tree: RawTree, diags: Diagnostics): Settings {
  const entry = tree.entries.find((e) => e.path === 'mkimages.yaml' && e.kind === 'file');
  if (!entry?.content) return { ...DEFAULT_SETTINGS };
  const parsed = parseYamlFile<SettingsYaml>(SETTINGS_FILE, entry.content, 'mkimages.schema.json', diags);
  if (!parsed) return { ...DEFAULT_SETTINGS };
  const s = parsed.value;
  const settings: Settings = { ...DEFAULT_SETTINGS, windowsOsVersions: { ...DEFAULT_SETTINGS.windowsOsVersions, ...(s.windowsOsVersions ?? {}) } };
  if (s.defaultPlatforms) {
    const platforms: Platform[] = [];
    s.defaultPlatforms.forEach((p, i) => {
      const r = parsePlatform(p);
      if (typeof r === 'string') diags.error(SETTINGS_FILE, parsed.lineOf(['defaultPlatforms', i]), `invalid platform in defaultPlatforms: ${r}`);
      else platforms.push(r);
    });
    if (platforms.length > 0) settings.defaultPlatforms = platforms.sort(comparePlatforms);
  }
  if (s.registry !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]+)?(\/[a-z0-9._/-]+)?$/.test(s.registry)) {
      diags.error(SETTINGS_FILE, parsed.lineOf(['registry']), `invalid registry, expected host[:port][/path], found ${shown(s.registry)}`);
    } else settings.registry = s.registry;
  }
  if (s.localPrefix !== undefined) {
    const ok = parseReference(`${s.localPrefix}/x`);
    if (!ok || ok.tag || ok.digest) {
      diags.error(SETTINGS_FILE, parsed.lineOf(['localPrefix']), `invalid localPrefix, expected a repository prefix such as example.dev/images, found ${shown(s.localPrefix)}`);
    } else settings.localPrefix = s.localPrefix;
  }
  if (s.source !== undefined) {
    // It reaches make and sh as it is: only characters neither of them reads.
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~:/@%+=-]+$/.test(s.source)) {
      diags.error(SETTINGS_FILE, parsed.lineOf(['source']), `invalid source, expected a URL of letters, digits and . _ ~ : / @ % + = - (no query or fragment), found ${shown(s.source)}`);
    } else settings.source = s.source;
  }
  return settings;
}

/** Image folders and, for each, its entries relative to it (nested folders included). */
function collectImageFolders(tree: RawTree, diags: Diagnostics): Map<string, ContextEntry[]> {
  const dirs = new Set<string>();
  for (const e of tree.entries) {
    if (e.kind !== 'file' && e.kind !== 'link') continue;
    const slash = e.path.lastIndexOf('/');
    const base = e.path.slice(slash + 1);
    if (!isImageMarker(base)) continue;
    if (e.kind === 'link') {
      diags.error(`images/${e.path}`, undefined, `is not a regular file, expected a regular file (mkimages never follows links), found a symbolic link to ${shown(e.linkTarget ?? '')}`);
      continue;
    }
    if (slash < 0) {
      if (base !== 'mkimages.yaml') diags.error(`images/${base}`, undefined, 'is directly in images/, expected it inside an image folder such as images/<name>/');
      continue;
    }
    dirs.add(e.path.slice(0, slash));
  }
  // Near misses are warnings: such a file is silently not read otherwise.
  const inImage = (dir: string) => [...dir.split('/').keys()].some((i) => dirs.has(dir.split('/').slice(0, i + 1).join('/')));
  for (const e of tree.entries) {
    if (e.kind !== 'file') continue;
    const slash = e.path.lastIndexOf('/');
    const base = e.path.slice(slash + 1);
    if (/^image\.ya?ml$/i.test(base) && base !== 'image.yaml') {
      diags.warn(`images/${e.path}`, undefined, `is not read, expected the name image.yaml, found ${shown(base)}`);
    } else if (slash >= 0 && /^dockerfile/i.test(base) && !isImageMarker(base) && !base.endsWith('.dockerignore') && !inImage(e.path.slice(0, slash))) {
      diags.warn(
        `images/${e.path}`,
        undefined,
        `is not read, so images/${e.path.slice(0, slash)} is not an image, expected Dockerfile, Dockerfile_windows or Dockerfile.<arch> (${ARCHES.join(', ')}, x86_64, aarch64), found ${shown(base)}`,
      );
    }
  }
  const folders = new Map<string, ContextEntry[]>([...dirs].sort(compareBytes).map((d) => [d, []]));
  for (const e of tree.entries) {
    for (let i = e.path.indexOf('/'); i >= 0; i = e.path.indexOf('/', i + 1)) {
      const owner = folders.get(e.path.slice(0, i));
      if (owner) owner.push({ entry: e, rel: e.path.slice(i + 1) });
    }
  }
  return folders;
}

function checkName(name: string, diags: Diagnostics): boolean {
  const bad = name.split('/').find((c) => !PATH_COMPONENT_RE.test(c));
  if (bad === undefined && name.length <= 255) return true;
  diags.error(
    `images/${name}`,
    undefined,
    `folder name is not a valid repository path, expected lowercase [a-z0-9] words joined by ".", "_", "__" or "-", found ${shown(bad ?? name)}`,
  );
  return false;
}

function stringMap(m: Record<string, string | number | boolean> | undefined): Array<[string, string]> {
  return Object.entries(m ?? {})
    .map(([k, v]): [string, string] => [k, String(v)])
    .sort((a, b) => compareStrings(a[0], b[0]));
}

const NO_NEWLINE = /[\r\n\0]/;

function readDraft(name: string, entries: ContextEntry[], settings: Settings, diags: Diagnostics): Draft | undefined {
  const dir = `images/${name}`;
  const files = new Map<string, TreeEntry>();
  for (const c of entries) if (!c.rel.includes('/') && c.entry.kind === 'file') files.set(c.rel, c.entry);
  const at = (f: string) => `${dir}/${f}`;
  // Files mkimages reads must be plain files: a link or folder would otherwise be silently ignored.
  for (const c of entries) {
    if (c.rel.includes('/') || c.entry.kind === 'file' || !['VERSION', 'ALIAS', 'BASEIMAGE', '.dockerignore'].includes(c.rel)) continue;
    const found = c.entry.kind === 'link' ? `a symbolic link to ${shown(c.entry.linkTarget ?? '')}` : c.entry.kind === 'dir' ? 'a folder' : 'a special file';
    diags.error(at(c.rel), undefined, `is not a regular file, expected a regular file (mkimages never follows links), found ${found}`);
  }

  // What the user wrote, file by file.
  const versionFile = files.get('VERSION');
  const version = versionFile?.content ? parseVersion(at('VERSION'), versionFile.content, diags) : undefined;
  const aliasFile = files.get('ALIAS');
  const alias = aliasFile?.content ? parseAlias(at('ALIAS'), aliasFile.content, diags) : undefined;
  const baseFile = files.get('BASEIMAGE');
  const baseEntries: BaseImageEntry[] | undefined = baseFile?.content ? parseBaseimage(at('BASEIMAGE'), baseFile.content, diags) : undefined;
  const yamlEntry = files.get('image.yaml');
  const yamlPath = at('image.yaml');
  const yaml = yamlEntry?.content ? parseYamlFile<ImageYaml>(yamlPath, yamlEntry.content, 'image.schema.json', diags) : undefined;
  if (yamlEntry && !yaml) return undefined;
  const y = yaml?.value ?? {};
  const lineOf = (path: Array<string | number>) => yaml?.lineOf(path);

  // Values given twice must agree.
  let publishedName = alias?.value ?? name;
  if (y.name !== undefined) {
    if (alias && alias.value !== y.name) {
      diags.error(yamlPath, lineOf(['name']), `name disagrees with ALIAS, expected ${shown(alias.value)} as in ${at('ALIAS')}, found ${shown(y.name)}`);
    } else if (!REPOSITORY_PATH.test(y.name) || y.name.length > 255) {
      diags.error(yamlPath, lineOf(['name']), `invalid name, expected a repository path of lowercase words joined by ".", "_", "__" or "-", found ${shown(y.name)}`);
    } else publishedName = y.name;
  }
  let versionValue = version?.value;
  if (y.version !== undefined) {
    if (version && version.value !== y.version) {
      diags.error(yamlPath, lineOf(['version']), `version disagrees with VERSION, expected ${shown(version.value)} as in ${at('VERSION')}, found ${shown(y.version)}`);
    } else if (!TAG_RE.test(y.version)) {
      diags.error(yamlPath, lineOf(['version']), `invalid version, expected a tag of at most 128 letters, digits, "_", "." or "-", found ${shown(y.version)}`);
    } else versionValue = y.version;
  }

  // Base images per platform, from BASEIMAGE and/or image.yaml.
  const baseImages = new Map<string, { platform: Platform; ref: string }>();
  for (const b of baseEntries ?? []) baseImages.set(platformKey(b.platform), { platform: b.platform, ref: b.ref });
  if (y.baseImage) {
    const fromYaml = new Map<string, { platform: Platform; ref: string }>();
    for (const [k, ref] of Object.entries(y.baseImage)) {
      const p = parsePlatform(k);
      if (typeof p === 'string') {
        diags.error(yamlPath, lineOf(['baseImage', k]), `invalid platform key in baseImage: ${p}`);
        continue;
      }
      const problem = checkReference(ref, `baseImage.${k}`);
      if (problem) {
        diags.error(yamlPath, lineOf(['baseImage', k]), problem);
        continue;
      }
      fromYaml.set(platformKey(p), { platform: p, ref });
    }
    if (baseEntries) {
      const a = [...baseImages].map(([k, v]) => `${k}=${v.ref}`).sort().join(', ');
      const b = [...fromYaml].map(([k, v]) => `${k}=${v.ref}`).sort().join(', ');
      if (a !== b) diags.error(yamlPath, lineOf(['baseImage']), `baseImage disagrees with BASEIMAGE, expected ${a || 'nothing'} as in ${at('BASEIMAGE')}, found ${b || 'nothing'}`);
    } else for (const [k, v] of fromYaml) baseImages.set(k, v);
  }

  // Platforms: image.yaml, else the base image keys, else the defaults.
  let platforms: Platform[];
  if (y.platforms) {
    platforms = [];
    y.platforms.forEach((t, i) => {
      const p = parsePlatform(t);
      if (typeof p === 'string') diags.error(yamlPath, lineOf(['platforms', i]), `invalid platform: ${p}`);
      else platforms.push(p);
    });
    if (baseImages.size > 0) {
      const want = [...baseImages.keys()].sort().join(', ');
      const have = platforms.map(platformKey).sort().join(', ');
      if (want !== have) {
        diags.error(yamlPath, lineOf(['platforms']), `platforms disagree with the base images, expected ${want} (the keys of ${baseEntries ? at('BASEIMAGE') : 'baseImage'}), found ${have || 'nothing'}`);
      }
    }
  } else if (baseImages.size > 0) {
    platforms = [...baseImages.values()].map((b) => b.platform);
  } else {
    platforms = settings.defaultPlatforms;
  }
  platforms = [...platforms].sort(comparePlatforms);

  // Mirrors copy an upstream image instead of building a Dockerfile.
  const dockerfileNames = [...files.keys()].filter((f) => f === 'Dockerfile' || f === 'Dockerfile_windows' || dockerfileArch(f) !== undefined);
  let mirror: string | undefined;
  if (y.mirror !== undefined) {
    const problem =
      checkReference(y.mirror, 'mirror') ??
      (y.mirror.includes(REGISTRY_TOKEN) ? `mirror names the REGISTRY token, expected an upstream image reference, found ${shown(y.mirror)}` : undefined);
    if (problem) diags.error(yamlPath, lineOf(['mirror']), problem);
    else mirror = y.mirror;
    if (dockerfileNames.length > 0) {
      diags.error(yamlPath, lineOf(['mirror']), `mirror: is set together with ${dockerfileNames.sort().join(', ')}, expected either an upstream mirror or a Dockerfile, found both`);
    }
    if (baseImages.size > 0) diags.error(yamlPath, lineOf(['mirror']), 'mirror: is set together with base images, expected no BASEIMAGE or baseImage for a mirror');
  } else if (dockerfileNames.length === 0) {
    diags.error(yamlPath, undefined, 'no Dockerfile and no mirror:, expected a Dockerfile (or Dockerfile_windows, Dockerfile.<arch>) beside image.yaml, or mirror: <upstream image>');
    return undefined;
  }

  // Dockerfile per platform.
  const parsedDockerfiles = new Map<string, ParsedDockerfile | undefined>();
  const parsedFor = (f: string) => {
    if (!parsedDockerfiles.has(f)) {
      const e = files.get(f);
      parsedDockerfiles.set(f, e?.content ? parseDockerfile(at(f), e.content, diags) : undefined);
    }
    return parsedDockerfiles.get(f);
  };
  // Where each base image was given, for messages about it (here and about dependencies).
  const baseImageAt = new Map<string, { file: string; line?: number }>();
  for (const b of baseEntries ?? []) baseImageAt.set(platformKey(b.platform), { file: at('BASEIMAGE'), line: b.line });
  for (const k of Object.keys(y.baseImage ?? {})) {
    const p = parsePlatform(k);
    if (typeof p !== 'string' && !baseImageAt.has(platformKey(p))) baseImageAt.set(platformKey(p), { file: yamlPath, line: lineOf(['baseImage', k]) });
  }
  const builds: Draft['platforms'] = [];
  // Where a platform without a Dockerfile was asked for (defaults are asked for nowhere).
  const declaredAt = (p: Platform): { file: string; line?: number; source: string } | undefined => {
    const key = platformKey(p);
    const i = (y.platforms ?? []).findIndex((t) => {
      const q = parsePlatform(t);
      return typeof q !== 'string' && platformKey(q) === key;
    });
    if (i >= 0) return { file: yamlPath, line: lineOf(['platforms', i]), source: 'listed in platforms' };
    const b = baseImageAt.get(key);
    return b ? { ...b, source: 'a base image key' } : undefined;
  };
  const missingDefaults: string[] = [];
  // An invalid mirror: is reported above; a mirror needs no Dockerfile either way.
  if (y.mirror === undefined) {
    for (const p of platforms) {
      const key = platformKey(p);
      const candidates =
        p.os === 'windows'
          ? ['Dockerfile_windows', 'Dockerfile']
          : [`Dockerfile.${p.arch}`, ...Object.entries(ARCH_ALIASES).filter(([, a]) => a === p.arch).map(([u]) => `Dockerfile.${u}`), 'Dockerfile'];
      const dockerfile = candidates.find((c) => files.has(c));
      if (!dockerfile) {
        const where = declaredAt(p);
        const found = dockerfileNames.length > 0 ? `only ${[...dockerfileNames].sort().join(', ')}` : 'none';
        if (where) diags.error(where.file, where.line, `no Dockerfile for ${platformSpec(p)} (${where.source}), expected one of ${candidates.join(', ')} in ${dir}, found ${found}`);
        else missingDefaults.push(platformSpec(p));
        continue;
      }
      const ignoreFile = files.has(`${dockerfile}.dockerignore`) ? `${dockerfile}.dockerignore` : files.has('.dockerignore') ? '.dockerignore' : '';
      builds.push({
        platform: p,
        key,
        spec: `${p.os}/${p.arch}`,
        dockerfile,
        dockerfileDigest: files.get(dockerfile)?.digest ?? '',
        ignoreFile,
        baseImage: baseImages.get(key)?.ref,
        parents: [],
        parsed: parsedFor(dockerfile),
        runsOnTarget: runsOnTarget(parsedFor(dockerfile)),
      });
    }
    // A Dockerfile no platform uses is still checked (empty, no FROM, not text).
    for (const f of dockerfileNames) parsedFor(f);
    if (missingDefaults.length > 0) {
      // Reported once, at the Dockerfile that is there (Dockerfile_windows alone, or Dockerfile.<arch>).
      const present = [...dockerfileNames].sort();
      diags.error(
        present.length > 0 ? at(present[0]) : dir,
        undefined,
        `cannot build the repository's default platforms ${missingDefaults.join(', ')} (the image names no platforms), expected a Dockerfile or Dockerfile.<arch> for them, or the image's platforms in BASEIMAGE or image.yaml platforms:, found only ${present.join(', ')}`,
      );
    }
  }

  // Build args and labels: strings carried literally; newlines cannot be.
  const buildArgs = stringMap(y.buildArgs);
  const labels = stringMap(y.labels);
  for (const [kind, list] of [['buildArgs', buildArgs], ['labels', labels]] as const) {
    for (const [k, v] of list) {
      if (NO_NEWLINE.test(v)) diags.error(yamlPath, lineOf([kind, k]), `${kind}.${k} spans several lines, expected a single-line value, found a line break`);
    }
  }
  for (const reserved of ['BASEIMAGE', 'REGISTRY', 'OS_VERSION', 'LOCAL_PREFIX']) {
    if (y.buildArgs && reserved in y.buildArgs) {
      diags.error(yamlPath, lineOf(['buildArgs', reserved]), `buildArgs.${reserved} is set by mkimages, expected another name, found ${reserved}`);
    }
  }

  const groups = new Set<string>();
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) groups.add(parts.slice(0, i).join('/'));
  (y.groups ?? []).forEach((g, i) => {
    if (GROUP_RE.test(g)) groups.add(g);
    else diags.error(yamlPath, lineOf(['groups', i]), `invalid group name, expected lowercase letters, digits, ".", "_" or "-" (and "/"), found ${shown(g)}`);
  });

  // Kubernetes: a Makefile with a `bin` target prepares the context.
  const binStep = /^bin\s*:/m.test(text(files.get('Makefile')) ?? '');

  // Where the published name and version were given, for the message about two folders publishing both.
  const publishedAt = version
    ? { file: at('VERSION'), line: version.line }
    : y.version !== undefined
      ? { file: yamlPath, line: lineOf(['version']) }
      : alias
        ? { file: at('ALIAS'), line: alias.line }
        : y.name !== undefined
          ? { file: yamlPath, line: lineOf(['name']) }
          : { file: dir };

  const draft: Draft = {
    name,
    dir,
    entries,
    files,
    publishedName,
    version: versionValue,
    platforms: builds,
    buildArgs,
    labels,
    groups: [...groups].sort(),
    dependsOn: (y.dependsOn ?? []).map((d, i) => ({ name: d, line: lineOf(['dependsOn', i]) })),
    yamlFile: yamlEntry ? yamlPath : undefined,
    mirror,
    promote: y.promote ?? true,
    publishedAt,
    baseImageAt,
    binStep,
    staged: binStep || dockerfileNames.some((f) => /BASEARCH|CROSS_BUILD_/.test(text(files.get(f)) ?? '')),
    wants: [],
  };
  collectReferences(draft);
  return draft;
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

/** References to other images: BASEIMAGE values and FROM lines, with build args substituted. */
function collectReferences(d: Draft): void {
  for (const b of d.platforms) {
    if (b.baseImage) d.wants.push({ ref: b.baseImage, kind: 'registry', childKey: b.key, file: d.baseImageAt.get(b.key)?.file ?? `${d.dir}/BASEIMAGE`, line: d.baseImageAt.get(b.key)?.line });
    if (!b.parsed) continue;
    const stageNames = new Set<string>();
    const args = fromArgs(d, b);
    for (const stage of b.parsed.stages) {
      const ref = expandArgs(stage.image, args);
      if (stage.alias) stageNames.add(stage.alias.toLowerCase());
      if (stageNames.has(ref.toLowerCase()) && ref.toLowerCase() !== stage.alias?.toLowerCase()) continue;
      if (ref.startsWith(`${LOCAL_TOKEN}/`)) {
        d.wants.push({ ref: ref.slice(LOCAL_TOKEN.length + 1), kind: 'local', childKey: b.key, fromPlatform: stage.platform, file: `${d.dir}/${b.dockerfile}`, line: stage.line });
      } else if (ref.startsWith(`${REGISTRY_TOKEN}/`)) {
        // `FROM $BASEIMAGE` names what the BASEIMAGE entry already wants (and warns about, once).
        if (ref === b.baseImage && stage.platform === undefined) continue;
        d.wants.push({ ref, kind: 'registry', childKey: b.key, fromPlatform: stage.platform, file: `${d.dir}/${b.dockerfile}`, line: stage.line });
      }
    }
  }
  for (const dep of d.dependsOn) d.wants.push({ ref: dep.name, kind: 'name', file: d.yamlFile ?? d.dir, line: dep.line });
}

const LOCAL_TOKEN = 'LOCAL_PREFIX';

interface Resolved {
  parent: string;
  key?: string;
}

function resolveWant(w: Draft['wants'][number], child: Draft, byName: Map<string, Draft>, byPublished: Map<string, Draft[]>, diags: Diagnostics): Resolved | undefined {
  let candidates: Draft[];
  let tag: string | undefined;
  if (w.kind === 'name') {
    const p = byName.get(w.ref);
    if (!p) {
      diags.error(w.file, w.line, `dependsOn names no image of this tree, expected a folder name below images/ such as ${shown([...byName.keys()].find((n) => n !== child.name) ?? 'base')}, found ${shown(w.ref)}`);
      return undefined;
    }
    return { parent: p.name };
  }
  const rest = w.kind === 'registry' ? w.ref.slice(REGISTRY_TOKEN.length + 1) : w.ref;
  const parsed = parseReference(rest);
  if (!parsed) return undefined;
  tag = parsed.tag;
  if (w.kind === 'local') {
    const p = byName.get(parsed.path);
    candidates = p ? [p] : [];
  } else candidates = byPublished.get(parsed.path) ?? [];
  if (candidates.length === 0) return undefined; // an external image
  // Several folders may publish one name (ALIAS): the tag says which.
  let match: Draft | undefined;
  let suffix: string | undefined;
  if (w.kind === 'local' && (tag === undefined || tag === 'latest')) match = candidates[0];
  for (const c of candidates) {
    if (match) break;
    const ctag = c.version ?? undefined;
    if (ctag === undefined) continue;
    if (tag === ctag) match = c;
    else if (tag?.startsWith(`${ctag}-`)) {
      match = c;
      suffix = tag.slice(ctag.length + 1);
    }
  }
  if (!match && candidates.length === 1 && candidates[0].version === undefined) match = candidates[0];
  if (!match) {
    diags.warn(
      w.file,
      w.line,
      `${shown(w.ref)} names the in-tree image ${shown(candidates[0].name)} with a tag it does not publish, so it is treated as an external image, expected the tag ${candidates.map((c) => shown(c.version ?? 'content hash')).join(' or ')}, found ${tag === undefined ? 'no tag' : shown(tag)}`,
    );
    return undefined;
  }
  if (match.name === child.name) return undefined;
  const keys = match.platforms.map((p) => p.key);
  let key: string | undefined;
  if (suffix !== undefined && keys.includes(suffix)) key = suffix;
  else {
    const childPlatform = child.platforms.find((p) => p.key === w.childKey);
    const wanted = w.fromPlatform && /^[a-z]+\/[a-z0-9]+$/.test(w.fromPlatform) ? w.fromPlatform.replace('/', '-') : childPlatform ? `${childPlatform.platform.os}-${childPlatform.platform.arch}` : undefined;
    if (w.childKey && keys.includes(w.childKey)) key = w.childKey;
    else if (wanted && keys.includes(wanted)) key = wanted;
  }
  return { parent: match.name, key };
}

function findCycles(names: string[], edges: Map<string, Set<string>>): string[][] {
  // Tarjan's strongly connected components; each component of more than one
  // image (or an image that needs itself) is a cycle to report.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of [...(edges.get(v) ?? [])].sort()) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || edges.get(v)?.has(v)) cycles.push(comp.sort());
    }
  };
  for (const n of names) if (!idx.has(n)) visit(n);
  return cycles;
}

/** The build args a generated rule passes for a platform, for expanding FROM lines. */
function fromArgs(d: Draft, b: Draft['platforms'][number]): Map<string, string | undefined> {
  const args = new Map<string, string | undefined>(b.parsed?.globalArgs ?? []);
  for (const [k, v] of d.buildArgs) args.set(k, v);
  args.set('REGISTRY', REGISTRY_TOKEN);
  args.set('LOCAL_PREFIX', LOCAL_TOKEN);
  args.set('OS_VERSION', b.platform.osVersion ?? '');
  args.set('BASEIMAGE', b.baseImage ?? b.parsed?.globalArgs.get('BASEIMAGE'));
  args.set('TARGETOS', b.platform.os);
  args.set('TARGETARCH', b.platform.arch);
  return args;
}

/**
 * Windows Dockerfiles are built by buildx on Linux workers, which cannot run
 * a Windows stage's RUN or WORKDIR, and which take an image with no
 * --platform for a Windows one. Both are warnings: a remote Windows engine
 * (REMOTE_DOCKER_URL_<os_version>) builds such Dockerfiles fine.
 */
function checkWindowsDockerfiles(drafts: Draft[], byPublished: Map<string, Draft[]>, diags: Diagnostics): void {
  const linuxOnly = (ref: string): boolean => {
    if (ref.startsWith(`${REGISTRY_TOKEN}/`)) {
      const parsed = parseReference(ref.slice(REGISTRY_TOKEN.length + 1));
      const inTree = parsed ? byPublished.get(parsed.path) : undefined;
      if (inTree && inTree.every((d) => d.platforms.length > 0 && d.platforms.every((p) => p.platform.os === 'linux'))) return true;
    }
    const tag = ref.includes(':') ? ref.slice(ref.lastIndexOf(':') + 1) : '';
    return /(^|[-_.])linux([-_.]|$)/.test(tag);
  };
  for (const d of drafts) {
    const seen = new Set<string>();
    for (const b of d.platforms) {
      if (b.platform.os !== 'windows' || !b.parsed || seen.has(b.dockerfile)) continue;
      seen.add(b.dockerfile);
      const file = `${d.dir}/${b.dockerfile}`;
      const args = fromArgs(d, b);
      b.parsed.stages.forEach((stage, i) => {
        if (stage.platform?.startsWith('linux/')) return;
        const ref = expandArgs(stage.image, args);
        if (linuxOnly(ref)) {
          diags.warn(file, stage.line, `FROM of the Linux-only image ${shown(stage.image)} in a Windows build, expected FROM --platform=linux/amd64 (buildx takes an image with no --platform for a Windows one), found no --platform`);
          // Unmarked, buildx takes the stage for a Windows one: its RUN steps fail too.
        }
        for (const inst of b.parsed!.instructions) {
          if (inst.stage !== i || (inst.keyword !== 'RUN' && inst.keyword !== 'WORKDIR')) continue;
          diags.warn(
            file,
            inst.line,
            `${inst.keyword} in a Windows stage cannot work under buildx, expected it in a Linux stage (FROM --platform=linux/amd64 …) whose result is copied, or a remote Windows engine (REMOTE_DOCKER_URL_<os_version>), found ${inst.keyword}`,
          );
        }
      });
    }
  }
}

/** The shortest loop start -> … -> start through the members of one cycle. */
function cyclePath(start: string, members: ReadonlySet<string>, edges: Map<string, Set<string>>): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(edges.get(v) ?? [])].sort(compareBytes)) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0])!);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

export function buildModel(tree: RawTree, diags: Diagnostics): Model {
  const settings = readSettings(tree, diags);
  if (!tree.exists) {
    diags.error('images', undefined, 'not found, expected a folder images/ with one folder per image');
    return { settings, images: [], groups: new Map(), listing: '' };
  }
  for (const p of tree.problems ?? []) diags.error(`images/${p.path}`, undefined, p.message);
  const folders = collectImageFolders(tree, diags);
  // An empty images/ is a repository that has no image yet: its (empty) Makefile is valid, so it is a warning.
  if (folders.size === 0) {
    diags.warn('images', undefined, 'holds no image, expected folders holding a Dockerfile, Dockerfile_windows, Dockerfile.<arch> or image.yaml, found none');
  }
  const drafts: Draft[] = [];
  for (const [name, entries] of folders) {
    if (!checkName(name, diags)) continue;
    const d = readDraft(name, entries, settings, diags);
    if (d) drafts.push(d);
  }
  const byName = new Map(drafts.map((d) => [d.name, d]));
  const byPublished = new Map<string, Draft[]>();
  for (const d of drafts) byPublished.set(d.publishedName, [...(byPublished.get(d.publishedName) ?? []), d]);

  // Two folders publishing one name need different versions.
  for (const [pub, list] of byPublished) {
    if (list.length < 2) continue;
    const seen = new Map<string, Draft>();
    for (const d of list) {
      // Without a version the tag is the content hash: different content, different tags.
      if (d.version === undefined) continue;
      const v = d.version;
      const other = seen.get(v);
      if (other) {
        diags.error(d.publishedAt.file, d.publishedAt.line, `publishes ${pub}:${v} like ${other.dir}, expected each published name and version once, found it twice`);
      } else seen.set(v, d);
    }
  }
  // Target names must be unambiguous: image `a-linux-amd64` would clash with `a`'s platform target.
  for (const d of drafts) {
    for (const p of d.platforms) {
      const clash = byName.get(`${d.name}-${p.key}`);
      if (clash) diags.error(clash.dir, undefined, `folder name clashes with the platform target build-${d.name}-${p.key} of ${d.dir}, expected another name`);
    }
    // build-all-images and build-group-G are targets of their own.
    if (d.name === 'all-images') diags.error(d.dir, undefined, 'folder name clashes with the targets build-all-images, push-all-images and load-all-images, expected another name, found "all-images"');
  }
  for (const g of new Set(drafts.flatMap((d) => d.groups))) {
    const clashing = byName.get(`group-${g}`);
    if (clashing) diags.error(clashing.dir, undefined, `folder name clashes with the target build-group-${g} of the group ${shown(g)}, expected another name, found ${shown(clashing.name)}`);
  }

  // Dependencies.
  const edges = new Map<string, Set<string>>();
  /** Where each edge child -> parent was first named, for the message about a cycle. */
  const edgeAt = new Map<string, { file: string; line?: number }>();
  for (const d of drafts) {
    const parents = new Set<string>();
    for (const w of d.wants) {
      const r = resolveWant(w, d, byName, byPublished, diags);
      if (!r) continue;
      if (r.parent === d.name) {
        diags.error(w.file, w.line, `image ${d.name} depends on itself, expected another image, found ${shown(w.ref)}`);
        continue;
      }
      parents.add(r.parent);
      if (!edgeAt.has(`${d.name}\0${r.parent}`)) edgeAt.set(`${d.name}\0${r.parent}`, { file: w.file, line: w.line });
      const targets = w.childKey ? d.platforms.filter((p) => p.key === w.childKey) : d.platforms;
      for (const t of targets) {
        if (!t.parents.some((x) => x.name === r.parent && x.key === r.key)) t.parents.push({ name: r.parent, key: r.key });
      }
    }
    edges.set(d.name, parents);
  }
  checkWindowsDockerfiles(drafts, byPublished, diags);
  const cycles = findCycles(drafts.map((d) => d.name).sort(compareBytes), edges);
  const inCycle = new Set(cycles.flat());
  for (const c of cycles) {
    const path = cyclePath(c[0], new Set(c), edges);
    const at = edgeAt.get(`${path[0]}\0${path[1]}`) ?? { file: byName.get(c[0])!.dir };
    diags.error(at.file, at.line, `dependency cycle, expected images built from one another without a loop, found ${path.join(' -> ')} (each built from the next)`);
  }

  // Hashes, parents first.
  const hashes = new Map<string, string>();
  const images: Image[] = [];
  const hashOf = (d: Draft): string => {
    const known = hashes.get(d.name);
    if (known) return known;
    const parents = [...(edges.get(d.name) ?? [])].sort(compareBytes);
    const contexts = new Map<string, ContextEntry[]>();
    for (const p of d.platforms) {
      if (contexts.has(p.ignoreFile)) continue;
      contexts.set(p.ignoreFile, filterContext(d.entries, p.ignoreFile ? text(d.files.get(p.ignoreFile)) : undefined));
    }
    const h = contentHash({
      contexts,
      platforms: d.platforms.map((p) => ({ key: p.key, dockerfile: p.dockerfile, dockerfileDigest: p.dockerfileDigest, ignoreFile: p.ignoreFile, baseImage: p.baseImage })),
      buildArgs: d.buildArgs,
      labels: d.labels,
      parents: parents.map((n) => [n, hashOf(byName.get(n)!)] as const),
      mirror: d.mirror,
    });
    hashes.set(d.name, h);
    // The context is hashed: let it go (a 10,000-image tree holds tens of MB of it).
    d.entries = [];
    return h;
  };
  for (const d of [...drafts].sort((a, b) => compareBytes(a.name, b.name))) {
    if (inCycle.size > 0) break; // hashes are meaningless with a cycle; errors already reported
    const hash = hashOf(d);
    images.push({
      name: d.name,
      dir: d.dir,
      publishedName: d.publishedName,
      version: d.version,
      tag: d.version ?? (d.mirror ? parseReference(d.mirror)?.tag ?? hash : hash),
      hash,
      platforms: d.platforms.map(({ platform, key, spec, dockerfile, baseImage, parents, runsOnTarget }) => ({
        platform,
        key,
        spec,
        dockerfile,
        baseImage,
        runsOnTarget,
        parents: [...parents].sort((a, b) => compareBytes(a.name, b.name) || compareStrings(a.key ?? '', b.key ?? '')) as ParentRef[],
      })),
      buildArgs: d.buildArgs,
      labels: d.labels,
      parents: [...(edges.get(d.name) ?? [])].sort(compareBytes),
      groups: d.groups,
      mirror: d.mirror,
      promote: d.promote,
      binStep: d.binStep,
      staged: d.staged,
    });
  }
  const groups = new Map<string, string[]>();
  for (const img of images) for (const g of img.groups) groups.set(g, [...(groups.get(g) ?? []), img.name]);
  return { settings, images, groups: new Map([...groups].sort((a, b) => compareBytes(a[0], b[0]))), listing: listTree(tree.entries) };
}
