// From what the user wrote to the normalized model. Pure: the raw tree in,
// the model and diagnostics out. Each concept has its own function; cross-
// image rules (published-name clashes, dependencies, cycles) run once every
// image has been read, so one run reports every problem.

import { compareStrings, Diagnostics, shown } from '../diagnostics.js';
import { contentHash, filterContext, type ContextEntry } from '../hash/content.js';
import { fingerprintFolder } from '../hash/fingerprint.js';
import { parseBaseimage, checkReference, REGISTRY_TOKEN, type BaseImageEntry } from '../parse/baseimage.js';
import { expandArgs, parseDockerfile, type ParsedDockerfile } from '../parse/dockerfile.js';
import {
  ARCH_ALIASES,
  ARCHES,
  comparePlatforms,
  parsePlatform,
  parseReference,
  PATH_COMPONENT_RE,
  platformKey,
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
  fingerprint: string;
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
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s'"`$\\]+$/.test(s.source)) {
      diags.error(SETTINGS_FILE, parsed.lineOf(['source']), `invalid source, expected a URL without spaces, quotes or "$", found ${shown(s.source)}`);
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
      diags.error(`images/${e.path}`, undefined, 'is a symbolic link, expected a regular file (mkimages never follows links)');
      continue;
    }
    if (slash < 0) {
      if (base !== 'mkimages.yaml') diags.error(`images/${base}`, undefined, 'is directly in images/, expected it inside an image folder such as images/<name>/');
      continue;
    }
    dirs.add(e.path.slice(0, slash));
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
    } else if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(y.name)) {
      diags.error(yamlPath, lineOf(['name']), `invalid name, expected a repository path of lowercase words joined by ".", "_", "__" or "-", found ${shown(y.name)}`);
    } else publishedName = y.name;
  }
  let versionValue = version?.value;
  if (y.version !== undefined) {
    if (version && version.value !== y.version) {
      diags.error(yamlPath, lineOf(['version']), `version disagrees with VERSION, expected ${shown(version.value)} as in ${at('VERSION')}, found ${shown(y.version)}`);
    } else if (!/^[\w][\w.-]{0,127}$/.test(y.version)) {
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
      const problem = checkReference(ref);
      if (problem) {
        diags.error(yamlPath, lineOf(['baseImage', k]), `${problem} in baseImage.${k}`);
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
    const problem = checkReference(y.mirror) ?? (y.mirror.includes(REGISTRY_TOKEN) ? 'the REGISTRY token cannot be mirrored' : undefined);
    if (problem) diags.error(yamlPath, lineOf(['mirror']), `invalid mirror reference: ${problem}`);
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
  const builds: Draft['platforms'] = [];
  if (!mirror) {
    for (const p of platforms) {
      const key = platformKey(p);
      const candidates =
        p.os === 'windows'
          ? ['Dockerfile_windows', 'Dockerfile']
          : [`Dockerfile.${p.arch}`, ...Object.entries(ARCH_ALIASES).filter(([, a]) => a === p.arch).map(([u]) => `Dockerfile.${u}`), 'Dockerfile'];
      const dockerfile = candidates.find((c) => files.has(c));
      if (!dockerfile) {
        diags.error(dir, undefined, `no Dockerfile for ${key}, expected one of ${candidates.join(', ')}, found none`);
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
      });
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
    fingerprint: fingerprintFolder(entries),
    wants: [],
  };
  collectReferences(draft);
  return draft;
}

/** References to other images: BASEIMAGE values and FROM lines, with build args substituted. */
function collectReferences(d: Draft): void {
  for (const b of d.platforms) {
    if (b.baseImage) d.wants.push({ ref: b.baseImage, kind: 'registry', childKey: b.key, file: `${d.dir}/BASEIMAGE` });
    if (!b.parsed) continue;
    const stageNames = new Set<string>();
    for (const stage of b.parsed.stages) {
      const args = new Map<string, string | undefined>(b.parsed.globalArgs);
      for (const [k, v] of d.buildArgs) args.set(k, v);
      args.set('REGISTRY', REGISTRY_TOKEN);
      args.set('LOCAL_PREFIX', LOCAL_TOKEN);
      args.set('OS_VERSION', b.platform.osVersion ?? '');
      args.set('BASEIMAGE', b.baseImage ?? b.parsed.globalArgs.get('BASEIMAGE'));
      args.set('TARGETOS', b.platform.os);
      args.set('TARGETARCH', b.platform.arch);
      const ref = expandArgs(stage.image, args);
      if (stage.alias) stageNames.add(stage.alias.toLowerCase());
      if (stageNames.has(ref.toLowerCase()) && ref.toLowerCase() !== stage.alias?.toLowerCase()) continue;
      if (ref.startsWith(`${LOCAL_TOKEN}/`)) {
        d.wants.push({ ref: ref.slice(LOCAL_TOKEN.length + 1), kind: 'local', childKey: b.key, fromPlatform: stage.platform, file: `${d.dir}/${b.dockerfile}`, line: stage.line });
      } else if (ref.startsWith(`${REGISTRY_TOKEN}/`)) {
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
      diags.error(w.file, w.line, `dependsOn names no image of this tree, expected a folder name below images/ such as ${shown([...byName.keys()][0] ?? 'base')}, found ${shown(w.ref)}`);
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
    diags.warn(w.file, w.line, `${shown(w.ref)} names the in-tree image ${shown(candidates[0].name)} but no version of it (${candidates.map((c) => c.version ?? 'content hash').join(', ')}); treated as an external image`);
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

export function buildModel(tree: RawTree, diags: Diagnostics): Model {
  const settings = readSettings(tree, diags);
  if (!tree.exists) {
    diags.error('images', undefined, 'not found, expected a folder images/ with one folder per image');
    return { settings, images: [], groups: new Map() };
  }
  const drafts: Draft[] = [];
  for (const [name, entries] of collectImageFolders(tree, diags)) {
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
      const v = d.version ?? '(no VERSION)';
      const other = seen.get(v);
      if (other) {
        diags.error(`${d.dir}/${d.version ? 'VERSION' : ''}`.replace(/\/$/, ''), d.version ? 1 : undefined, `publishes ${pub}:${v} like ${other.dir}, expected each published name and version once, found it twice`);
      } else seen.set(v, d);
    }
  }
  // Target names must be unambiguous: image `a-linux-amd64` would clash with `a`'s platform target.
  for (const d of drafts) {
    for (const p of d.platforms) {
      const clash = byName.get(`${d.name}-${p.key}`);
      if (clash) diags.error(clash.dir, undefined, `folder name clashes with the platform target build-${d.name}-${p.key} of ${d.dir}, expected another name`);
    }
  }

  // Dependencies.
  const edges = new Map<string, Set<string>>();
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
      const targets = w.childKey ? d.platforms.filter((p) => p.key === w.childKey) : d.platforms;
      for (const t of targets) {
        if (!t.parents.some((x) => x.name === r.parent && x.key === r.key)) t.parents.push({ name: r.parent, key: r.key });
      }
    }
    edges.set(d.name, parents);
  }
  const cycles = findCycles(drafts.map((d) => d.name).sort(compareBytes), edges);
  const inCycle = new Set(cycles.flat());
  for (const c of cycles) {
    const first = byName.get(c[0])!;
    diags.error(first.yamlFile ?? first.dir, undefined, `dependency cycle, expected images to depend on each other without a loop, found ${[...c, c[0]].join(' -> ')}`);
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
      fingerprint: d.fingerprint,
      platforms: d.platforms.map(({ platform, key, spec, dockerfile, baseImage, parents }) => ({
        platform,
        key,
        spec,
        dockerfile,
        baseImage,
        parents: [...parents].sort((a, b) => compareBytes(a.name, b.name) || compareStrings(a.key ?? '', b.key ?? '')) as ParentRef[],
      })),
      buildArgs: d.buildArgs,
      labels: d.labels,
      parents: [...(edges.get(d.name) ?? [])].sort(compareBytes),
      groups: d.groups,
      mirror: d.mirror,
      promote: d.promote,
    });
  }
  const groups = new Map<string, string[]>();
  for (const img of images) for (const g of img.groups) groups.set(g, [...(groups.get(g) ?? []), img.name]);
  return { settings, images, groups: new Map([...groups].sort((a, b) => compareBytes(a[0], b[0]))) };
}
