// The content hash H: 16 hex digits over exactly what determines the image.
// - the build context Docker would send, honouring .dockerignore (or the
//   Dockerfile-specific `<Dockerfile>.dockerignore` that BuildKit prefers);
// - per platform, the Dockerfile used and the BASEIMAGE entry as written;
// - build args, labels and annotations (title, description, licenses, url)
//   from image.yaml;
// - what else makes the built image differ: the name it is published under,
//   its version (the org.opencontainers.image.version label; also when
//   .dockerignore leaves VERSION out of the context) and the repository's
//   source URL (the .source label);
// - the content hashes of the in-tree images it is built from.
// Records are JSON lines, so no value can be confused with another, and
// every list is sorted, so file-system order and locale do not matter.

import { posix } from 'node:path';
import { createRequire } from 'node:module';
import type { TreeEntry } from '../scan/tree.js';
import { sha256Hex } from './sha256.js';

type DockerignoreFactory = typeof import('@balena/dockerignore').default;
let dockerignoreFactory: DockerignoreFactory | undefined;

/** @balena/dockerignore, loaded on first use: most folders have no .dockerignore. */
function dockerignore(): DockerignoreFactory {
  return (dockerignoreFactory ??= createRequire(import.meta.url)('@balena/dockerignore') as DockerignoreFactory);
}

const HASH_VERSION = 'mkimages content hash v2';

export interface ContextEntry {
  entry: TreeEntry;
  /** Path relative to the context root. */
  rel: string;
}

/** Docker's .dockerignore rules applied to a context; returns the entries Docker would send. */
export function filterContext(entries: readonly ContextEntry[], ignoreText: string | undefined): readonly ContextEntry[] {
  if (ignoreText === undefined) return entries;
  const ig = dockerignore()({ ignorecase: false }).add(readIgnorePatterns(ignoreText));
  return entries.filter((e) => !ig.ignores(e.rel));
}

/**
 * The patterns of a .dockerignore as Docker reads them (moby's
 * patternmatcher/ignorefile): a leading BOM dropped, `#` lines skipped before
 * trimming, whitespace trimmed (also after `!`), paths cleaned and made
 * relative to the context.
 */
export function readIgnorePatterns(text: string): string[] {
  const patterns: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split('\n')) {
    if (raw.startsWith('#')) continue;
    let pattern = raw.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = posix.normalize(pattern).replace(/\/+$/, '') || '/';
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  }
  return patterns;
}

/** One JSON record per entry, pushed onto `out`. The same text as JSON.stringify of the array, spelt out for the common kinds (the other parts need no escaping). */
function pushContextRecords(entries: readonly ContextEntry[], out: string[]): void {
  for (const { entry, rel } of entries) {
    switch (entry.kind) {
      case 'file':
        out.push(`["file",${JSON.stringify(rel)},"${entry.executable ? 'x' : '-'}","${entry.digest}"]`);
        break;
      case 'dir':
        out.push(`["dir",${JSON.stringify(rel)}]`);
        break;
      case 'link':
        out.push(JSON.stringify(['link', rel, entry.linkTarget]));
        break;
      default:
        out.push(JSON.stringify(['other', rel, entry.typeLetter]));
    }
  }
}

export interface HashInput {
  /** The repository it is published as (ALIAS / image.yaml name, else the folder's name). */
  publishedName: string;
  /** VERSION / image.yaml version; undefined when the tag is H itself. */
  version?: string;
  /** mkimages.yaml source, which every image carries as a label. */
  source?: string;
  /** The build-context lines: contextLines() of the contexts, one per distinct ignore file. */
  contextLines: string;
  platforms: ReadonlyArray<{ key: string; dockerfile: string; dockerfileDigest: string; ignoreFile: string; baseImage?: string }>;
  buildArgs: ReadonlyArray<readonly [string, string]>;
  labels: ReadonlyArray<readonly [string, string]>;
  /** OCI annotations ([full key, value]), which are labels of the image too. */
  annotations?: ReadonlyArray<readonly [string, string]>;
  /** Images it is built from: [name, H]. */
  parents: ReadonlyArray<readonly [string, string]>;
  /** Upstream reference for mirror images. */
  mirror?: string;
}

/**
 * The lines of the build contexts, one per distinct ignore file keyed by
 * that file's name (or ""), each line ending in a line break. They are the
 * last lines of the hashed text, so they can be gathered before the parents'
 * hashes are known.
 */
export function contextLines(contexts: ReadonlyMap<string, readonly ContextEntry[]>): string {
  const lines: string[] = [];
  for (const ignoreFile of [...contexts.keys()].sort()) {
    lines.push(JSON.stringify(['context', ignoreFile]));
    pushContextRecords(contexts.get(ignoreFile) ?? [], lines);
  }
  lines.push('');
  return lines.join('\n');
}

export function contentHash(input: HashInput): string {
  // Every record is a JSON line; hashed in one update rather than two per line.
  const lines: string[] = [];
  const line = (...parts: unknown[]) => lines.push(JSON.stringify(parts));
  line(HASH_VERSION);
  line('published', input.publishedName, input.version ?? null);
  if (input.source !== undefined) line('source', input.source);
  if (input.mirror !== undefined) line('mirror', input.mirror);
  for (const p of input.platforms) line('platform', p.key, p.dockerfile, p.dockerfileDigest, p.ignoreFile, p.baseImage ?? null);
  for (const [k, v] of input.buildArgs) line('arg', k, v);
  for (const [k, v] of input.labels) line('label', k, v);
  for (const [k, v] of input.annotations ?? []) line('annotation', k, v);
  for (const [name, hash] of input.parents) line('parent', name, hash);
  lines.push(input.contextLines);
  return sha256Hex(lines.join('\n')).slice(0, 16);
}
