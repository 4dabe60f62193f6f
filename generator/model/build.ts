// From the raw tree to the normalized model, stage by stage. Pure: the tree
// in, the model and diagnostics out. Per image: read what the user wrote
// (source.ts), check it (rules.ts), resolve it (image.ts, platforms.ts);
// then across images: rules, the dependency graph (graph.ts), the checks of
// Windows Dockerfiles (windows.ts) and the hashes (hashes.ts), so one run
// reports every problem.

import { Diagnostics } from '../diagnostics.js';
import { listEntries, listImageFolders } from '../hash/fingerprint.js';
import { loadSchemas, type Schemas } from '../schemas.js';
import { compareBytes, type RawTree } from '../scan/tree.js';
import { buildGraph, indexImages } from './graph.js';
import { hashImages } from './hashes.js';
import { resolveImage, toImage, type ResolvedImage } from './image.js';
import { findImageFolders } from './image-folders.js';
import { checkImage, checkTree, isBuildable } from './rules.js';
import { readSettings } from './settings.js';
import { readImageSource } from './source.js';
import type { Image, Model } from './types.js';
import { checkWindowsDockerfiles } from './windows.js';

/** `schemas`: mkimages' own JSON Schemas, loaded by the caller (default: this package's). */
export function buildModel(tree: RawTree, diags: Diagnostics, schemas: Schemas = loadSchemas()): Model {
  const settings = readSettings(tree, schemas, diags);
  if (!tree.exists) {
    diags.error(tree.imagesDir, undefined, `not found, expected a folder ${tree.imagesDir}/ with one folder per image`);
    return { settings, images: [], groups: new Map(), settingsSums: '' };
  }
  for (const p of tree.problems ?? []) diags.error(`${tree.imagesDir}/${p.path}`, undefined, p.message);

  const resolved: ResolvedImage[] = [];
  for (const [name, entries] of findImageFolders(tree, diags)) {
    const src = readImageSource(tree.imagesDir, name, entries, schemas, diags);
    if (!src) continue;
    checkImage(src, diags);
    if (isBuildable(src)) resolved.push(resolveImage(src, settings, diags));
  }
  checkTree(resolved, settings, diags);
  const index = indexImages(resolved);
  const graph = buildGraph(resolved, index, tree.imagesDir, diags);
  checkWindowsDockerfiles(resolved, index.byPublished, diags);

  // Hashes are meaningless with a cycle; the cycle is reported.
  const images: Image[] = [];
  if (!graph.hasCycle) {
    const hashes = hashImages(resolved, graph.parents, settings);
    const sums = listImageFolders(tree.entries, resolved.map((r) => r.name));
    for (const r of resolved) {
      images.push(toImage(r, { hash: hashes.get(r.name)!, parents: graph.parents.get(r.name) ?? [], platformParents: graph.platformParents.get(r.name), sums: sums.get(r.name)! }));
    }
    addNestedImages(images);
  }
  const groups = new Map<string, string[]>();
  for (const img of images) for (const g of img.groups) groups.set(g, [...(groups.get(g) ?? []), img.name]);
  const settingsEntry = tree.entries.find((e) => e.path === 'mkimages.yaml');
  return {
    settings,
    images,
    groups: new Map([...groups].sort((a, b) => compareBytes(a[0], b[0]))),
    settingsSums: settingsEntry ? listEntries([settingsEntry], (e) => e.path) : '',
  };
}

/** Each image's nestedImages: the images below its folder, in name order. */
function addNestedImages(images: readonly Image[]): void {
  const byName = new Map(images.map((i) => [i.name, i]));
  for (const img of images) {
    for (let slash = img.name.lastIndexOf('/'); slash > 0; slash = img.name.lastIndexOf('/', slash - 1)) {
      byName.get(img.name.slice(0, slash))?.nestedImages.push(img.name);
    }
  }
}
