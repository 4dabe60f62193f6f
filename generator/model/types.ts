// The normalized model: what the templates and the catalog see. Everything a
// rule needs is computed here (platforms resolved, Dockerfile per platform
// chosen, tags, parents, hashes), so templates only loop over fields.

import type { Platform } from '../parse/grammar.js';

export interface Settings {
  /** The images dir relative to the repository root, forward slashes (`images`, `test/images`); `--images-dir`. */
  imagesDir: string;
  defaultPlatforms: Platform[];
  registry: string;
  localPrefix: string;
  source?: string;
  /** `gvisor`: also answer to gVisor's tools/images.mk target names and variables (mkimages.yaml compatibility). */
  compatibility?: 'gvisor';
  /** os_version → full Windows os.version, for manifest annotations: the built-in table (model/settings.ts) with mkimages.yaml's windowsOsVersions over it. */
  windowsOsVersions: Record<string, string>;
}

export interface ParentRef {
  /** Image name (folder path below the images dir). */
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
  /**
   * Windows only: the full os.version of platform.osVersion (`10.0.20348.2966`),
   * from Settings.windowsOsVersions; undefined when neither the built-in table
   * nor mkimages.yaml knows it (a warning said so): read it from the base
   * image's manifest at make time.
   */
  osVersionFull?: string;
}

export interface Image {
  /** The folder's path below the images dir. */
  name: string;
  /** `<imagesDir>/<name>`: the folder relative to the repository root. */
  dir: string;
  /** The name with every `/` written `_`, as gVisor's targets name images (`basic_alpine`); unique under compatibility: gvisor. */
  underscoreName: string;
  /** The first folder of a nested image's name (`basic` for `basic/alpine`): gVisor's load-<folder> group; undefined for a top-level image. */
  topFolder?: string;
  publishedName: string;
  version?: string;
  /** VERSION when given, else the content hash. */
  tag: string;
  hash: string;
  platforms: PlatformBuild[];
  buildArgs: Array<[string, string]>;
  labels: Array<[string, string]>;
  /**
   * OCI annotations from image.yaml title, description, licenses and url,
   * with their full keys (`org.opencontainers.image.title`), sorted by key;
   * for the image's labels and the manifest list's annotations. Values are
   * single lines of printable text (any other character allowed: quote them).
   */
  annotations: Array<[string, string]>;
  /** Names of the in-tree images it is built from, sorted. */
  parents: string[];
  groups: string[];
  mirror?: string;
  promote: boolean;
  /** The folder has a Makefile with a `bin` target (Kubernetes), run before the build. */
  binStep: boolean;
  /** Built from a staged copy of the folder: a bin step, or BASEARCH / CROSS_BUILD_ tokens. */
  staged: boolean;
  /**
   * Images whose folders lie inside this one (any depth), sorted. Their files
   * are in this image's build context (so in its H) but not in its `sums`:
   * this image is fresh when its sums and each of theirs are.
   */
  nestedImages: string[];
  /**
   * The folder's listing less the nested image folders, exactly as
   * `cd <root>/<imagesDir> && folderListingCommand(name, nestedImages)`
   * prints it (hash/fingerprint.ts): NUL-terminated records sorted by
   * bytes, paths relative to the images dir.
   */
  sums: string;
  /** sha256 (hex) of `sums`: what `… | sha256sum` of that listing prints before its "  -". */
  sumsDigest: string;
}

export interface Model {
  settings: Settings;
  /** Sorted by name. */
  images: Image[];
  /** Group name → member image names, sorted. */
  groups: Map<string, string[]>;
  /** The settings file's listing as `cd <root>/<imagesDir> && folderListingCommand('mkimages.yaml')` prints it; "" without one. */
  settingsSums: string;
}
