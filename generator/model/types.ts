// The normalized model: what the templates and the catalog see. Everything a
// rule needs is computed here (platforms resolved, Dockerfile per platform
// chosen, tags, parents, hashes), so templates only loop over fields.

import type { Platform } from '../parse/grammar.js';

export interface Settings {
  defaultPlatforms: Platform[];
  registry: string;
  localPrefix: string;
  source?: string;
  /** os_version → full Windows os.version, for manifest annotations. */
  windowsOsVersions: Record<string, string>;
}

export interface ParentRef {
  /** Image name (folder path below images/). */
  name: string;
  /** The parent's platform key this platform needs; undefined when it needs the whole image. */
  key?: string;
}

export interface PlatformBuild {
  platform: Platform;
  /** `linux-amd64`, `windows-amd64-ltsc2022`. */
  key: string;
  /** `linux/amd64` (what --platform takes). */
  spec: string;
  /** Dockerfile file name relative to the image folder. */
  dockerfile: string;
  /** BASEIMAGE value as written (REGISTRY token kept), when there is one. */
  baseImage?: string;
  parents: ParentRef[];
  /** The Dockerfile runs RUN steps on the target platform (emulated for a foreign arch). */
  runsOnTarget: boolean;
}

export interface Image {
  name: string;
  /** `images/<name>`. */
  dir: string;
  publishedName: string;
  version?: string;
  /** VERSION when given, else the content hash. */
  tag: string;
  hash: string;
  platforms: PlatformBuild[];
  buildArgs: Array<[string, string]>;
  labels: Array<[string, string]>;
  /** Names of the in-tree images it is built from, sorted. */
  parents: string[];
  groups: string[];
  mirror?: string;
  promote: boolean;
  /** The folder has a Makefile with a `bin` target (Kubernetes), run before the build. */
  binStep: boolean;
  /** Built from a staged copy of the folder: a bin step, or BASEARCH / CROSS_BUILD_ tokens. */
  staged: boolean;
}

export interface Model {
  settings: Settings;
  /** Sorted by name. */
  images: Image[];
  /** Group name → member image names, sorted. */
  groups: Map<string, string[]>;
  /** Every entry under images/ as make lists it, to tell which folders changed (hash/fingerprint.ts). */
  listing: string;
}
