// Renders generated/images.mk from the model. Templates only loop over the
// fields prepared here; escaping happens in escape.ts and nowhere else. The
// templates themselves are read at the edge (generator/templates.ts).

import { createHash } from 'node:crypto';
import { sha256Hex } from '../hash/sha256.js';
import { REGISTRY_TOKEN } from '../parse/baseimage.js';
import type { Image, Model } from '../model/types.js';
import type { Templates } from '../templates.js';
import type { OutputDir } from '../write/output.js';
import { makeShellWord } from './escape.js';

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

const OCI_KEYS = ['org.opencontainers.image.title', 'org.opencontainers.image.description', 'org.opencontainers.image.licenses', 'org.opencontainers.image.url'];

/**
 * The catalog metadata of an image (org.opencontainers.image.title,
 * .description, .licenses, .url): image.yaml's fields of those names
 * (Image.annotations), and `labels:` of those keys. `labels` are what the
 * builds still need (a `labels:` entry is among the build args already);
 * `annotations` go on the list (index annotations, buildx).
 */
export function ociMetadata(img: Image): { labels: Array<[string, string]>; annotations: Array<[string, string]> } {
  const labelled = new Map(img.labels);
  const given = new Map(img.annotations);
  const labels: Array<[string, string]> = [];
  const annotations: Array<[string, string]> = [];
  for (const key of OCI_KEYS) {
    if (labelled.has(key)) annotations.push([key, labelled.get(key)!]);
    else if (given.has(key)) {
      labels.push([key, given.get(key)!]);
      annotations.push([key, given.get(key)!]);
    }
  }
  return { labels, annotations };
}

/** `tools/lister` → `tools_lister.tar.gz` (one file per image under ARCHIVE_DIR). */
function archiveName(name: string): string {
  return `${name.replace(/\//g, '_')}.tar.gz`;
}

const QEMU_ARCH: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', '386': 'i386' };

/** The folder of the images tree, relative to the repository root. */
export function imagesDirOf(model: Model): string {
  return (model.settings as { imagesDir?: string }).imagesDir ?? 'images';
}

function closureOf(img: Image, byName: Map<string, Image>): string {
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const p of byName.get(n)?.parents ?? []) visit(p);
  };
  visit(img.name);
  return [...seen].sort().join(' ');
}

function imageView(img: Image, byName: Map<string, Image>, imagesDir: string) {
  const nested = img.nestedImages;
  const context = `$(MKIMAGES_ROOT)${img.dir}`;
  const oci = ociMetadata(img);
  return {
    imagesDir,
    name: img.name,
    dir: img.dir,
    repo: img.publishedName,
    tag: img.tag,
    hash: img.hash,
    versioned: img.tag !== img.hash,
    linuxOsVersion: img.platforms.some((p) => p.key.startsWith('linux-') && p.platform.osVersion !== undefined),
    // What `mkimages.sh fresh` compares the folder's listing with.
    sum: img.sumsDigest,
    nested: nested.join(' '),
    closure: closureOf(img, byName),
    mirror: img.mirror ?? '',
    archive: archiveName(img.name),
    platformKeys: img.platforms.map((p) => p.key).join(' '),
    args: buildArgsWords(img),
    ociLabels: oci.labels.map(([k, v]) => ` --label ${makeShellWord(`${k}=${v}`)}`).join(''),
    ociAnnotations: oci.annotations.map(([k, v]) => ` --annotation ${makeShellWord(`index:${k}=${v}`)}`).join(''),
    promote: img.promote,
    stage: img.staged,
    bin: img.binStep,
    parents: img.parents,
    platforms: img.platforms.map((p) => {
      const [os, arch] = p.key.split('-') as [string, string];
      const osVersion = p.platform.osVersion ?? '';
      const windows = os === 'windows';
      const staged = (kind: string) => `$(RUN_DIR)/${kind}/${img.name}/${p.key}`;
      const baseImage = p.baseImage ? baseImageForMake(p.baseImage) : '';
      const args: string[] = [];
      if (baseImage) args.push(`--build-arg 'BASEIMAGE=$(${img.name}_BASEIMAGE_${p.key})'`);
      if (osVersion) args.push(`--build-arg OS_VERSION=${osVersion}`);
      const annotate = [`--os ${os}`, `--arch ${arch}`];
      if (osVersion) {
        annotate.push(windows ? `--os-version $(call os-version,${img.name},${p.key},${osVersion})` : `--os-version $(WINDOWS_OS_VERSION_${osVersion})`);
      }
      return {
        key: p.key,
        os,
        arch,
        osVersion,
        windows,
        spec: `${os}/${arch}`,
        description: `${os}/${arch}${osVersion ? ` ${osVersion}` : ''}`,
        dockerfile: p.dockerfile,
        buildDockerfile: `${img.staged ? staged('build') : context}/${p.dockerfile}`,
        buildContext: img.staged ? staged('build') : context,
        publishDockerfile: `${img.staged ? staged('publish') : context}/${p.dockerfile}`,
        publishContext: img.staged ? staged('publish') : context,
        baseImage,
        buildArgs: args.map((a) => ` ${a}`).join(''),
        annotate: annotate.join(' '),
        run: p.runsOnTarget && !windows,
        qemuArch: QEMU_ARCH[arch] ?? arch,
        parentNames: [...new Set(p.parents.map((r) => r.name))].map((n) => ` ${n}`).join(''),
        parents: p.parents.map((r) => ({ name: r.name, key: r.key ?? '' })),
      };
    }),
  };
}

/**
 * gVisor's target names: `basic_alpine` for the image `basic/alpine`, and
 * `basic` for every image below a top folder that is not itself an image.
 */
function gvisorAliasesOf(model: Model): Array<{ alias: string; names: string; single: boolean }> {
  const names = new Set(model.images.map((i) => i.name));
  const built = model.images.filter((i) => !i.mirror);
  const out: Array<{ alias: string; names: string; single: boolean }> = [];
  for (const img of built) {
    const alias = img.name.replace(/\//g, '_');
    if (alias !== img.name) out.push({ alias, names: img.name, single: true });
  }
  const tops = new Map<string, string[]>();
  for (const img of built) {
    const i = img.name.indexOf('/');
    if (i < 0) continue;
    const top = img.name.slice(0, i);
    if (names.has(top)) continue;
    tops.set(top, [...(tops.get(top) ?? []), img.name]);
  }
  for (const [top, members] of [...tops].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out.push({ alias: top, names: members.join(' '), single: false });
  return out;
}

/**
 * The rules files: the images spread by the first hex digits of the sha256
 * of their names, so a file holds about 100 images at most whatever the
 * tree's size, and adding or removing an image rewrites one file. One file
 * (`all.mk`) up to 64 images; 16 (`0.mk` … `f.mk`) up to 2,048; 256 up to
 * 32,768; 4,096 beyond. A make call reads the files of the images it needs:
 * tens of KB, where reading every rule of 10,000 images took 25 s.
 */
export function rulesFilesOf(images: readonly Image[]): Array<{ key: string; images: Image[] }> {
  const n = images.length;
  const digits = n <= 64 ? 0 : n <= 2048 ? 1 : n <= 32768 ? 2 : 3;
  const files = new Map<string, Image[]>();
  for (const img of images) {
    const key = digits === 0 ? 'all' : sha256Hex(img.name).slice(0, digits);
    const list = files.get(key);
    if (list) list.push(img);
    else files.set(key, [img]);
  }
  return [...files.keys()].sort().map((key) => ({ key, images: files.get(key)! }));
}

/** Words joined by spaces into comment lines of at most 78 characters (a longer word has a line of its own). */
export function commentLines(words: readonly string[]): string {
  const lines: string[] = [];
  let line = '#';
  for (const w of words) {
    if (line !== '#' && line.length + 1 + w.length > 78) {
      lines.push(line);
      line = '#';
    }
    line += ` ${w}`;
  }
  lines.push(line);
  return lines.join('\n');
}

const DELEGATED = ['build', 'rebuild', 'push', 'load', 'save', 'adopt', 'mirror', 'verify', 'help'];

/**
 * The patterns of the targets a sub-make is given when this make did not read
 * their rules: `build-%`, and `build-basic/%` for the images below `basic/`
 * (make matches a pattern with no slash against the last part of a name).
 */
function delegatedPatternsOf(model: Model): string[] {
  const tops = [...new Set(model.images.filter((i) => i.name.includes('/')).map((i) => i.name.slice(0, i.name.indexOf('/'))))].sort();
  return DELEGATED.flatMap((p) => [`${p}-%`, ...tops.map((t) => `${p}-${t}/%`)]);
}

/** What the templates see. */
export function viewOf(model: Model, rulesFiles = rulesFilesOf(model.images)) {
  const keys = new Set<string>();
  for (const img of model.images) for (const p of img.platforms) keys.add(p.key);
  const groups = [...model.groups].map(([name, members]) => ({ name, members: members.join(' ') }));
  const imagesDir = imagesDirOf(model);
  const gvisor = (model.settings as { compatibility?: string }).compatibility === 'gvisor';
  const gvisorAliases = gvisor ? gvisorAliasesOf(model) : [];
  return {
    settings: { registry: model.settings.registry, localPrefix: model.settings.localPrefix, source: model.settings.source ?? '' },
    imagesDir,
    settingsSum: createHash('sha256').update(model.settingsSums).digest('hex'),
    windowsOsVersions: Object.fromEntries(Object.entries(model.settings.windowsOsVersions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    allPlatformKeys: [...keys].sort().join(' '),
    allImages: model.images.map((i) => i.name).join(' '),
    builtImages: model.images.filter((i) => !i.mirror).map((i) => i.name).join(' '),
    mirrorImages: model.images.filter((i) => i.mirror).map((i) => i.name).join(' '),
    allRefs: model.images.map((i) => `${i.publishedName}:${i.tag}`).join(' '),
    promotedImages: model.images.filter((i) => i.promote).map((i) => i.name).join(' '),
    promoted: model.images.filter((i) => i.promote).map((i) => ({ name: i.name, repo: i.publishedName, tag: i.tag })),
    delegatedPatterns: delegatedPatternsOf(model),
    rulesFiles: rulesFiles.map((f) => ({ key: f.key, names: f.images.map((i) => i.name).join(' ') })),
    rulesFileKeys: rulesFiles.map((f) => f.key).join(' '),
    groups,
    groupCount: groups.length,
    groupNames: groups.map((g) => g.name).join(' '),
    gvisor,
    gvisorAliases,
    gvisorAliasNames: gvisorAliases.map((a) => a.alias).join(' '),
    gvisorSingleNames: gvisorAliases.filter((a) => a.single).map((a) => a.alias).join(' '),
  };
}

export interface RenderedMakefile {
  /** generated/images.mk: settings, macros, aggregates, groups, the plan. */
  main: string;
  /**
   * generated/rules/<key>.mk (rulesFilesOf), by path below generated/rules/:
   * each rendered when asked for (compared or written), so the rules of
   * 10,000 images are never held in memory at once.
   */
  rules: OutputDir;
  /** generated/mkimages.sh, the static registry helper. */
  script: string;
}

/** The generated Makefile, from templates loaded at the edge (generator/templates.ts). */
export function renderMakefile(model: Model, t: Templates): RenderedMakefile {
  const imagesDir = imagesDirOf(model);
  const byName = new Map(model.images.map((i) => [i.name, i]));
  const files = rulesFilesOf(model.images);
  const byFile = new Map(files.map((f) => [`${f.key}.mk`, f.images]));
  const rules: OutputDir = {
    names: [...byFile.keys()],
    content: (file) => {
      const images = byFile.get(file)!;
      return t.rules({
        imagesDir,
        count: images.length === 1 ? '1 image' : `${images.length} images`,
        names: commentLines(images.map((i) => i.name)),
        images: images.map((i) => imageView(i, byName, imagesDir)),
      });
    },
  };
  return { main: t.main(viewOf(model, files)), rules, script: t.script };
}
