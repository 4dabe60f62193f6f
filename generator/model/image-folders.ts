// Which folders are images: a folder holding a Dockerfile, Dockerfile_windows,
// Dockerfile.<arch> or image.yaml. Near misses (image.yml, Dockerfile.sparc)
// are warnings, since such a file is silently not read otherwise.

import { Diagnostics, shown } from '../diagnostics.js';
import type { ContextEntry } from '../hash/content.js';
import { ARCH_ALIASES, ARCHES, PATH_COMPONENT_RE } from '../parse/grammar.js';
import { compareBytes, type TreeEntry } from '../scan/tree.js';

/** `Dockerfile.arm64` / `Dockerfile.aarch64` → arm64; undefined for any other name. */
export function dockerfileArch(base: string): string | undefined {
  if (!base.startsWith('Dockerfile.')) return undefined;
  const suffix = base.slice('Dockerfile.'.length);
  const arch = ARCH_ALIASES[suffix] ?? suffix;
  return (ARCHES as readonly string[]).includes(arch) ? arch : undefined;
}

/** Dockerfile, Dockerfile_windows or Dockerfile.<arch>. */
export function isDockerfileName(base: string): boolean {
  return base === 'Dockerfile' || base === 'Dockerfile_windows' || dockerfileArch(base) !== undefined;
}

function isImageMarker(base: string): boolean {
  return base === 'image.yaml' || isDockerfileName(base);
}

function checkName(imagesDir: string, name: string, diags: Diagnostics): boolean {
  const bad = name.split('/').find((c) => !PATH_COMPONENT_RE.test(c));
  if (bad === undefined && name.length <= 255) return true;
  diags.error(
    `${imagesDir}/${name}`,
    undefined,
    `folder name is not a valid repository path, expected lowercase [a-z0-9] words joined by ".", "_", "__" or "-", found ${shown(bad ?? name)}`,
  );
  return false;
}

function markerDirs(top: string, entries: readonly TreeEntry[], diags: Diagnostics): Set<string> {
  const dirs = new Set<string>();
  for (const e of entries) {
    if (e.kind !== 'file' && e.kind !== 'link') continue;
    const slash = e.path.lastIndexOf('/');
    const base = e.path.slice(slash + 1);
    if (!isImageMarker(base)) continue;
    if (e.kind === 'link') {
      diags.error(`${top}/${e.path}`, undefined, `is not a regular file, expected a regular file (mkimages never follows links), found a symbolic link to ${shown(e.linkTarget ?? '')}`);
      continue;
    }
    if (slash < 0) {
      diags.error(`${top}/${base}`, undefined, `is directly in ${top}/, expected it inside an image folder such as ${top}/<name>/`);
      continue;
    }
    dirs.add(e.path.slice(0, slash));
  }
  return dirs;
}

function warnNearMisses(top: string, entries: readonly TreeEntry[], dirs: ReadonlySet<string>, diags: Diagnostics): void {
  const inImage = (dir: string) => [...dir.split('/').keys()].some((i) => dirs.has(dir.split('/').slice(0, i + 1).join('/')));
  for (const e of entries) {
    if (e.kind !== 'file') continue;
    const slash = e.path.lastIndexOf('/');
    const base = e.path.slice(slash + 1);
    if (/^image\.ya?ml$/i.test(base) && base !== 'image.yaml') {
      diags.warn(`${top}/${e.path}`, undefined, `is not read, expected the name image.yaml, found ${shown(base)}`);
    } else if (slash >= 0 && /^dockerfile/i.test(base) && !isImageMarker(base) && !base.endsWith('.dockerignore') && !inImage(e.path.slice(0, slash))) {
      diags.warn(
        `${top}/${e.path}`,
        undefined,
        `is not read, so ${top}/${e.path.slice(0, slash)} is not an image, expected Dockerfile, Dockerfile_windows or Dockerfile.<arch> (${ARCHES.join(', ')}, x86_64, aarch64), found ${shown(base)}`,
      );
    }
  }
}

/**
 * The image folders among `entries` (paths below the images dir `top`, sorted;
 * a whole top-level folder, or the whole tree) whose names are valid
 * repository paths, sorted by name, each with every entry below it relative
 * to it (nested image folders included: they are in its build context).
 * `found` counts the image folders found, valid names or not.
 */
export function findImageFolders(top: string, entries: readonly TreeEntry[], diags: Diagnostics): Map<string, ContextEntry[]> & { found: number } {
  const dirs = markerDirs(top, entries, diags);
  warnNearMisses(top, entries, dirs, diags);
  const folders = new Map<string, ContextEntry[]>();
  for (const d of [...dirs].sort(compareBytes)) if (checkName(top, d, diags)) folders.set(d, []);
  for (const e of entries) {
    for (let i = e.path.indexOf('/'); i >= 0; i = e.path.indexOf('/', i + 1)) {
      const owner = folders.get(e.path.slice(0, i));
      if (owner) owner.push({ entry: e, rel: e.path.slice(i + 1) });
    }
  }
  return Object.assign(folders, { found: dirs.size });
}
