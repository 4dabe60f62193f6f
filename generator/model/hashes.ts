// The content hash H of every image, parents first: each image's H covers
// its parents' (hash/content.ts says what else it covers).

import { contentHash, contextLines, filterContext, type ContextEntry } from '../hash/content.js';
import type { ResolvedImage } from './image.js';
import { text } from './source.js';
import type { Settings } from './types.js';

/** The build-context lines of an image's hash: one context per distinct ignore file. */
export function contextLinesOf(img: ResolvedImage): string {
  const src = img.source;
  const contexts = new Map<string, readonly ContextEntry[]>();
  for (const p of img.platforms) {
    if (contexts.has(p.ignoreFile)) continue;
    contexts.set(p.ignoreFile, filterContext(src.entries, p.ignoreFile ? text(src.files.get(p.ignoreFile)) : undefined));
  }
  return contextLines(contexts);
}

/** H per image name, from each image and its contextLinesOf. The graph must have no cycle. */
export function hashImages(images: ReadonlyArray<{ image: ResolvedImage; contextLines: string }>, parents: ReadonlyMap<string, readonly string[]>, settings: Settings): Map<string, string> {
  const byName = new Map(images.map((i) => [i.image.name, i]));
  const hashes = new Map<string, string>();
  const hashOf = ({ image: img, contextLines }: { image: ResolvedImage; contextLines: string }): string => {
    const known = hashes.get(img.name);
    if (known) return known;
    const h = contentHash({
      publishedName: img.publishedName,
      version: img.version,
      source: settings.source,
      contextLines,
      platforms: img.platforms,
      buildArgs: img.buildArgs,
      labels: img.labels,
      annotations: img.annotations,
      parents: (parents.get(img.name) ?? []).map((n) => [n, hashOf(byName.get(n)!)] as const),
      mirror: img.mirror,
    });
    hashes.set(img.name, h);
    return h;
  };
  for (const img of images) hashOf(img);
  return hashes;
}
