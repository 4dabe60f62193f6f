// The content hash H of every image, parents first: each image's H covers
// its parents' (hash/content.ts says what else it covers).

import { contentHash, filterContext, type ContextEntry } from '../hash/content.js';
import type { ResolvedImage } from './image.js';
import { text } from './source.js';
import type { Settings } from './types.js';

/** H per image name. The graph must have no cycle. */
export function hashImages(images: readonly ResolvedImage[], parents: ReadonlyMap<string, readonly string[]>, settings: Settings): Map<string, string> {
  const byName = new Map(images.map((i) => [i.name, i]));
  const hashes = new Map<string, string>();
  const hashOf = (img: ResolvedImage): string => {
    const known = hashes.get(img.name);
    if (known) return known;
    const src = img.source;
    // One context per distinct ignore file.
    const contexts = new Map<string, readonly ContextEntry[]>();
    for (const p of img.platforms) {
      if (contexts.has(p.ignoreFile)) continue;
      contexts.set(p.ignoreFile, filterContext(src.entries, p.ignoreFile ? text(src.files.get(p.ignoreFile)) : undefined));
    }
    const h = contentHash({
      publishedName: img.publishedName,
      version: img.version,
      source: settings.source,
      contexts,
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
