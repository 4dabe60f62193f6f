// The repository settings: <images dir>/mkimages.yaml → Settings. A missing file,
// or one that cannot be read, gives the defaults (its problems are reported).

import { Diagnostics, shown } from '../diagnostics.js';
import { comparePlatforms, parsePlatform, parseReference, platformSpec, type Platform } from '../parse/grammar.js';
import { parseYamlFile } from '../parse/yaml-file.js';
import type { Schemas } from '../schemas.js';
import type { RawTree } from '../scan/tree.js';
import type { Settings } from './types.js';

/** The settings file, relative to the repository root. */
export function settingsFile(imagesDir: string): string {
  return `${imagesDir}/mkimages.yaml`;
}

/**
 * The full os.version (what a manifest list's `platform.os.version` holds) of
 * each Windows version Kubernetes has built, as Microsoft's nanoserver and
 * servercore images report it: for the versions out of support, their last
 * build (1903: December 2020; 1909: May 2021, KB5003169; 2004: December
 * 2021, KB5008212; 20H2: August 2022); for the LTSC releases, the December
 * 2024 builds. 1809 and ltsc2019 are the same release (build 17763).
 * mkimages.yaml windowsOsVersions overrides any of them, or adds others.
 */
export const WINDOWS_OS_VERSIONS: Readonly<Record<string, string>> = {
  '1809': '10.0.17763.6659',
  '1903': '10.0.18362.1256',
  '1909': '10.0.18363.1556',
  '2004': '10.0.19041.1415',
  '20H2': '10.0.19042.1889',
  ltsc2019: '10.0.17763.6659',
  ltsc2022: '10.0.20348.2966',
  ltsc2025: '10.0.26100.2605',
};

export const DEFAULT_SETTINGS: Omit<Settings, 'imagesDir'> = {
  defaultPlatforms: [{ os: 'linux', arch: 'amd64' }],
  registry: 'localhost:5000',
  localPrefix: 'mkimages.local',
  windowsOsVersions: WINDOWS_OS_VERSIONS,
};

/** The full os.version of a Windows os_version (built-in table or mkimages.yaml), or undefined. */
export function windowsOsVersionFull(settings: Settings, osVersion: string): string | undefined {
  return Object.hasOwn(settings.windowsOsVersions, osVersion) ? settings.windowsOsVersions[osVersion] : undefined;
}

/** The warning about a Windows platform whose full os.version is known to neither the table nor mkimages.yaml. */
export function unknownOsVersionMessage(settings: Settings, osVersion: string, spec: string): string {
  return (
    `no full os.version is known for the Windows version ${shown(osVersion)} of ${spec}, so make reads it from the base image's manifest (and stops if that does not say), ` +
    `expected one of ${Object.keys(settings.windowsOsVersions).join(', ')} or windowsOsVersions.${osVersion} in ${settingsFile(settings.imagesDir)}, found ${shown(osVersion)}`
  );
}

/** mkimages.yaml as written (schema/mkimages.schema.json). */
interface SettingsYaml {
  defaultPlatforms?: string[];
  registry?: string;
  localPrefix?: string;
  source?: string;
  windowsOsVersions?: Record<string, string>;
  compatibility?: 'gvisor';
}

/** gVisor's LOCAL_IMAGE_PREFIX default: the local names its tests run. */
const GVISOR_LOCAL_PREFIX = 'gvisor.dev/images';

const REGISTRY_RE = /^[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]+)?(\/[a-z0-9._/-]+)?$/;
// It reaches make and sh as it is: only characters neither of them reads.
const SOURCE_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~:/@%+=-]+$/;

export function readSettings(tree: RawTree, schemas: Schemas, diags: Diagnostics): Settings {
  const defaults: Settings = { ...DEFAULT_SETTINGS, imagesDir: tree.imagesDir };
  const entry = tree.entries.find((e) => e.path === 'mkimages.yaml' && e.kind === 'file');
  if (!entry?.content) return defaults;
  const SETTINGS_FILE = settingsFile(tree.imagesDir);
  const parsed = parseYamlFile<SettingsYaml>(SETTINGS_FILE, entry.content, schemas.settings, diags);
  if (!parsed) return defaults;
  const s = parsed.value;
  const settings: Settings = { ...defaults, windowsOsVersions: { ...DEFAULT_SETTINGS.windowsOsVersions, ...(s.windowsOsVersions ?? {}) } };
  if (s.defaultPlatforms) {
    const platforms: Platform[] = [];
    s.defaultPlatforms.forEach((p, i) => {
      const r = parsePlatform(p);
      if (typeof r === 'string') diags.error(SETTINGS_FILE, parsed.lineOf(['defaultPlatforms', i]), `invalid platform in defaultPlatforms: ${r}`);
      else platforms.push(r);
    });
    if (platforms.length > 0) settings.defaultPlatforms = platforms.sort(comparePlatforms);
    // A default Windows platform is declared here, so this is where its os.version is missed.
    s.defaultPlatforms.forEach((p, i) => {
      const r = parsePlatform(p);
      if (typeof r !== 'string' && r.os === 'windows' && windowsOsVersionFull(settings, r.osVersion!) === undefined) {
        diags.warn(SETTINGS_FILE, parsed.lineOf(['defaultPlatforms', i]), unknownOsVersionMessage(settings, r.osVersion!, platformSpec(r)));
      }
    });
  }
  if (s.registry !== undefined) {
    if (!REGISTRY_RE.test(s.registry)) {
      diags.error(SETTINGS_FILE, parsed.lineOf(['registry']), `invalid registry, expected host[:port][/path], found ${shown(s.registry)}`);
    } else settings.registry = s.registry;
  }
  if (s.compatibility === 'gvisor') {
    settings.compatibility = 'gvisor';
    settings.localPrefix = GVISOR_LOCAL_PREFIX;
    // gVisor builds a plain Dockerfile for whichever ARCH make is given
    // (CI runs ARCH=x86_64 and ARCH=aarch64): both, unless the file says.
    if (!s.defaultPlatforms) {
      settings.defaultPlatforms = [
        { os: 'linux', arch: 'amd64' },
        { os: 'linux', arch: 'arm64' },
      ];
    }
  }
  if (s.localPrefix !== undefined) {
    const ok = parseReference(`${s.localPrefix}/x`);
    if (!ok || ok.tag || ok.digest) {
      diags.error(SETTINGS_FILE, parsed.lineOf(['localPrefix']), `invalid localPrefix, expected a repository prefix such as example.dev/images, found ${shown(s.localPrefix)}`);
    } else settings.localPrefix = s.localPrefix;
  }
  if (s.source !== undefined) {
    if (!SOURCE_RE.test(s.source)) {
      diags.error(SETTINGS_FILE, parsed.lineOf(['source']), `invalid source, expected a URL of letters, digits and . _ ~ : / @ % + = - (no query or fragment), found ${shown(s.source)}`);
    } else settings.source = s.source;
  }
  return settings;
}
