// From the raw tree to the normalized model, stage by stage. Pure: the tree
// in, the model and diagnostics out.
//
// Per top-level folder of the images dir (everything an image needs lies in
// the top-level folder it is in): find its image folders, read what the user
// wrote (source.ts), check it (rules.ts), resolve it (image.ts,
// platforms.ts), list each folder (its freshness sums) and gather the build
// context its hash covers. Then across images: the rules about the tree, the
// dependency graph (graph.ts), the checks of Windows Dockerfiles
// (windows.ts) and the hashes (hashes.ts), so one run reports every problem.
//
// ModelBuilder takes the folders one at a time: the per-folder stages need
// nothing from other folders. (Handing each folder to a worker thread as soon
// as it was read was tried: on a 2-core machine it was no faster.)

import { Diagnostics } from '../diagnostics.js';
import { listEntries, listImageFolders } from '../hash/fingerprint.js';
import type { Schemas } from '../schemas.js';
import { compareBytes, type RawTree, type TreeEntry } from '../scan/tree.js';
import { buildGraph, indexImages } from './graph.js';
import { contextLinesOf, hashImages } from './hashes.js';
import { resolveImage, toImage, type ResolvedImage } from './image.js';
import { findImageFolders } from './image-folders.js';
import { checkImage, checkTree, isBuildable } from './rules.js';
import { DEFAULT_SETTINGS, readSettings } from './settings.js';
import { readImageSource } from './source.js';
import type { Image, Model, Settings } from './types.js';
import { checkWindowsDockerfiles } from './windows.js';

/** What the per-folder stages keep of each buildable image for the stages across images. */
interface FolderResult {
  image: ResolvedImage;
  /** Its listing (Image.sums). */
  sums: string;
  /** The build-context lines of its content hash (hashes.ts). */
  contextLines: string;
}

export class ModelBuilder {
  private settings?: Settings;
  private settingsEntry?: TreeEntry;
  private readonly results: FolderResult[] = [];
  private imageFolders = 0;

  /** `imagesDir`: relative to the root, as RawTree.imagesDir; `schemas`: mkimages' own, loaded by the caller. */
  constructor(
    private readonly imagesDir: string,
    private readonly diags: Diagnostics,
    private readonly schemas: Schemas,
  ) {}

  /** The entries directly in the images dir that are not folders (mkimages.yaml among them). Before any folder. */
  addTopFiles(entries: TreeEntry[]): void {
    if (this.settings) throw new Error('addTopFiles after a folder');
    this.settings = readSettings({ root: '', imagesDir: this.imagesDir, exists: true, entries }, this.schemas, this.diags);
    this.settingsEntry = entries.find((e) => e.path === 'mkimages.yaml');
    this.imageFolders += findImageFolders(this.imagesDir, entries, this.diags).found;
  }

  /** One top-level folder: its own entry first, then every entry below it, sorted by path. */
  addFolder(entries: TreeEntry[]): void {
    const settings = (this.settings ??= { ...DEFAULT_SETTINGS, imagesDir: this.imagesDir });
    const folders = findImageFolders(this.imagesDir, entries, this.diags);
    this.imageFolders += folders.found;
    const resolved: ResolvedImage[] = [];
    for (const [name, context] of folders) {
      const src = readImageSource(this.imagesDir, name, context, this.schemas, this.diags);
      if (!src) continue;
      checkImage(src, this.diags);
      if (isBuildable(src)) resolved.push(resolveImage(src, settings, this.diags));
    }
    if (resolved.length === 0) return;
    const sums = listImageFolders(entries, resolved.map((r) => r.name));
    for (const image of resolved) this.results.push({ image, sums: sums.get(image.name)!, contextLines: contextLinesOf(image) });
  }

  /** The stages across images. */
  finish(problems: RawTree['problems'] = []): Model {
    const settings = this.settings ?? { ...DEFAULT_SETTINGS, imagesDir: this.imagesDir };
    const diags = this.diags;
    for (const p of problems) diags.error(`${this.imagesDir}/${p.path}`, undefined, p.message);
    // An empty images dir is a repository that has no image yet: its (empty) Makefile is valid, so it is a warning.
    if (this.imageFolders === 0) {
      diags.warn(this.imagesDir, undefined, 'holds no image, expected folders holding a Dockerfile, Dockerfile_windows, Dockerfile.<arch> or image.yaml, found none');
    }
    const results = this.results.sort((a, b) => compareBytes(a.image.name, b.image.name));
    const resolved = results.map((r) => r.image);
    checkTree(resolved, settings, diags);
    const index = indexImages(resolved);
    const graph = buildGraph(resolved, index, this.imagesDir, diags);
    checkWindowsDockerfiles(resolved, index.byPublished, diags);

    // Hashes are meaningless with a cycle; the cycle is reported.
    const images: Image[] = [];
    if (!graph.hasCycle) {
      const hashes = hashImages(results, graph.parents, settings);
      for (const r of results) {
        const name = r.image.name;
        images.push(toImage(r.image, { hash: hashes.get(name)!, parents: graph.parents.get(name) ?? [], platformParents: graph.platformParents.get(name), sums: r.sums }));
      }
      addNestedImages(images);
    }
    const groups = new Map<string, string[]>();
    for (const img of images) for (const g of img.groups) groups.set(g, [...(groups.get(g) ?? []), img.name]);
    return {
      settings,
      images,
      groups: new Map([...groups].sort((a, b) => compareBytes(a[0], b[0]))),
      settingsSums: this.settingsEntry ? listEntries([this.settingsEntry], (e) => e.path) : '',
    };
  }
}

/**
 * The entries of a tree (sorted by path) split as ModelBuilder takes them:
 * the files directly in the images dir, and each top-level folder with
 * everything below it, in path order.
 */
export function splitTree(entries: readonly TreeEntry[]): { topFiles: TreeEntry[]; folders: TreeEntry[][] } {
  const topFiles: TreeEntry[] = [];
  const folders = new Map<string, TreeEntry[]>();
  for (const e of entries) {
    const slash = e.path.indexOf('/');
    const top = slash < 0 ? e.path : e.path.slice(0, slash);
    const folder = folders.get(top);
    if (folder) folder.push(e);
    else if (slash < 0 && e.kind === 'dir') folders.set(top, [e]);
    else topFiles.push(e);
  }
  return { topFiles, folders: [...folders.values()] };
}

/** `schemas`: mkimages' own JSON Schemas, loaded by the caller (generate.ts: this package's). */
export function buildModel(tree: RawTree, diags: Diagnostics, schemas: Schemas): Model {
  if (!tree.exists) {
    const settings = readSettings(tree, schemas, diags);
    diags.error(tree.imagesDir, undefined, `not found, expected a folder ${tree.imagesDir}/ with one folder per image`);
    return { settings, images: [], groups: new Map(), settingsSums: '' };
  }
  const builder = new ModelBuilder(tree.imagesDir, diags, schemas);
  const { topFiles, folders } = splitTree(tree.entries);
  builder.addTopFiles(topFiles);
  for (const f of folders) builder.addFolder(f);
  return builder.finish(tree.problems);
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
