// What the user wrote for one image: its files, the values of image.yaml, the
// BASEIMAGE entries, VERSION, ALIAS and the parsed Dockerfiles. Reading
// reports only what cannot be read at all (not text, bad syntax, a file that
// is not a regular file); whether the values agree is for rules.ts.

import { Diagnostics, shown } from '../diagnostics.js';
import type { ContextEntry } from '../hash/content.js';
import { parseBaseimage, type BaseImageEntry } from '../parse/baseimage.js';
import { parseDockerfile, type ParsedDockerfile } from '../parse/dockerfile.js';
import { parsePlatform, type Platform } from '../parse/grammar.js';
import { parseAlias, parseVersion, type LineValue } from '../parse/single-line.js';
import { parseYamlFile } from '../parse/yaml-file.js';
import type { Schemas } from '../schemas.js';
import type { TreeEntry } from '../scan/tree.js';
import { isDockerfileName } from './image-folders.js';

/** image.yaml as written (schema/image.schema.json). */
export interface ImageYaml {
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
  title?: string;
  description?: string;
  licenses?: string;
  url?: string;
}

/** image.yaml keys that become OCI annotations (and labels), with their full keys. */
export const ANNOTATION_KEYS = {
  title: 'org.opencontainers.image.title',
  description: 'org.opencontainers.image.description',
  licenses: 'org.opencontainers.image.licenses',
  url: 'org.opencontainers.image.url',
} as const;

export interface ImageSource {
  /** The folder's path below the images dir. */
  name: string;
  /** `<images dir>/<name>`, relative to the repository root: where messages about the folder point. */
  dir: string;
  /** Every entry below the folder, relative to it: the build context before .dockerignore. */
  entries: ContextEntry[];
  /** Regular files directly in the folder, by name. */
  files: Map<string, TreeEntry>;
  version?: LineValue;
  alias?: LineValue;
  /** BASEIMAGE's valid entries, when there is a BASEIMAGE. */
  baseImages?: BaseImageEntry[];
  /** image.yaml's values (empty without one) and where each was written. */
  yaml: ImageYaml;
  /** `<dir>/image.yaml` when there is one. */
  yamlFile?: string;
  /** Line of a value of image.yaml (`['buildArgs', 'X']`); undefined without one. */
  lineOf(path: Array<string | number>): number | undefined;
  /** Dockerfile, Dockerfile_windows and Dockerfile.<arch> files present, in byte order. */
  dockerfiles: string[];
  /** Each Dockerfile as parsed (undefined: unreadable). Not read for a mirror image. */
  parsed: Map<string, ParsedDockerfile | undefined>;
}

/** Files mkimages reads, which must be regular files. */
const READ_FILES = ['VERSION', 'ALIAS', 'BASEIMAGE', '.dockerignore'];

export function text(entry: TreeEntry | undefined): string | undefined {
  return entry?.content?.toString('utf8');
}

/** Undefined when image.yaml is there but cannot be read: nothing else about the image is checked then. */
export function readImageSource(imagesDir: string, name: string, entries: ContextEntry[], schemas: Schemas, diags: Diagnostics): ImageSource | undefined {
  const dir = `${imagesDir}/${name}`;
  const at = (f: string) => `${dir}/${f}`;
  const files = new Map<string, TreeEntry>();
  for (const c of entries) {
    if (c.rel.includes('/')) continue;
    if (c.entry.kind === 'file') files.set(c.rel, c.entry);
    else if (READ_FILES.includes(c.rel)) {
      // A link or folder would otherwise be silently ignored.
      const found = c.entry.kind === 'link' ? `a symbolic link to ${shown(c.entry.linkTarget ?? '')}` : c.entry.kind === 'dir' ? 'a folder' : 'a special file';
      diags.error(at(c.rel), undefined, `is not a regular file, expected a regular file (mkimages never follows links), found ${found}`);
    }
  }
  const bytes = (f: string) => files.get(f)?.content;
  const versionBytes = bytes('VERSION');
  const aliasBytes = bytes('ALIAS');
  const baseBytes = bytes('BASEIMAGE');
  const yamlBytes = bytes('image.yaml');
  const version = versionBytes ? parseVersion(at('VERSION'), versionBytes, diags) : undefined;
  const alias = aliasBytes ? parseAlias(at('ALIAS'), aliasBytes, diags) : undefined;
  const baseImages = baseBytes ? parseBaseimage(at('BASEIMAGE'), baseBytes, diags) : undefined;
  const yaml = yamlBytes ? parseYamlFile<ImageYaml>(at('image.yaml'), yamlBytes, schemas.image, diags) : undefined;
  if (files.has('image.yaml') && !yaml) return undefined;
  const dockerfiles = [...files.keys()].filter(isDockerfileName);
  const parsed = new Map<string, ParsedDockerfile | undefined>();
  // A mirror builds no Dockerfile: rules.ts reports one beside it, unread.
  if (yaml?.value.mirror === undefined) {
    for (const f of dockerfiles) parsed.set(f, parseDockerfile(at(f), bytes(f)!, diags));
  }
  return {
    name,
    dir,
    entries,
    files,
    version,
    alias,
    baseImages,
    yaml: yaml?.value ?? {},
    yamlFile: yaml ? at('image.yaml') : undefined,
    lineOf: (path) => yaml?.lineOf(path),
    dockerfiles,
    parsed,
  };
}

/** An image.yaml entry keyed by platform (baseImage), the key parsed: a Platform, or what is wrong with it. */
interface PlatformKeyed<T> {
  key: string;
  platform: Platform | string;
  value: T;
}

/** image.yaml's baseImage entries in the order written. */
export function yamlBaseImages(src: ImageSource): Array<PlatformKeyed<string>> {
  return Object.entries(src.yaml.baseImage ?? {}).map(([key, value]) => ({ key, platform: parsePlatform(key), value }));
}

/** image.yaml's platforms list, each parsed: a Platform, or what is wrong with it. */
export function yamlPlatforms(src: ImageSource): Array<Platform | string> | undefined {
  return src.yaml.platforms?.map(parsePlatform);
}
