// Deterministic synthetic image trees for the benchmark. Same options, same
// bytes: a seeded PRNG (mulberry32) decides everything, never Math.random.
//
// A tree is written as <root>/images/... plus <root>/Makefile including
// generated/images.mk, so both the generator and make can run on it.
//
// Shape (per image i, 0-based; rough shares):
// - ~10 % nested one level down: images/group-<k>/img-<i>
// - ~20 % with VERSION
// - ~12 % with a BASEIMAGE naming an earlier versioned image of the tree as
//   REGISTRY/<name>:<version>-linux-amd64 (an in-tree dependency)
// - ~2 % Windows: BASEIMAGE with linux/amd64 and windows/amd64/ltsc2022
//   entries, plus a Dockerfile_windows (not in buildable trees)
// - ~5 % two Linux platforms from an external BASEIMAGE (not in buildable trees)
// - ~5 % .dockerignore, ~3 % image.yaml (or the share given), ~1 % ALIAS
// - `files` payload files of `fileSize` bytes each (half of them in src/), on
//   top of the Dockerfile and the small metadata files above.
//
// Buildable trees (`buildable: true`) build quickly on a real engine with no
// network: every Dockerfile is `FROM scratch` (or FROM an in-tree parent via
// BASEIMAGE) plus COPY, linux/amd64 only.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeOptions {
  images: number;
  /** Payload files per image. */
  files: number;
  /** Bytes per payload file. */
  fileSize: number;
  /** Only FROM scratch + COPY, linux/amd64: really buildable, quickly. */
  buildable?: boolean;
  /** Share of images with an image.yaml (default 0.03; never in buildable trees). */
  imageYaml?: number;
  seed?: number;
}

export interface TreeSummary {
  images: number;
  nested: number;
  versioned: number;
  inTreeDeps: number;
  windows: number;
  multiArch: number;
  dockerignore: number;
  imageYaml: number;
  alias: number;
  filesWritten: number;
  bytesWritten: number;
}

/** mulberry32: a small, fast, seeded 32-bit PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_=+/\n');

/** `size` bytes of printable text from `rand`. */
function payload(rand: () => number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4) {
    // One PRNG call gives four bytes.
    let r = Math.floor(rand() * 4294967296);
    for (let k = 0; k < 4 && i + k < size; k++) {
      b[i + k] = ALPHABET[(r & 0xff) % ALPHABET.length];
      r >>>= 8;
    }
  }
  return b;
}

const EXTERNAL_BASE = 'registry.k8s.io/build-image/debian-base:bookworm-v1.0.4';
const WINDOWS_BASE = 'mcr.microsoft.com/windows/nanoserver:ltsc2022';

function pad(i: number): string {
  return String(i).padStart(5, '0');
}

export function writeSyntheticTree(root: string, opts: TreeOptions): TreeSummary {
  const rand = prng(opts.seed ?? 20240601);
  const chance = (p: number) => rand() < p;
  const buildable = opts.buildable === true;
  const s: TreeSummary = {
    images: opts.images,
    nested: 0,
    versioned: 0,
    inTreeDeps: 0,
    windows: 0,
    multiArch: 0,
    dockerignore: 0,
    imageYaml: 0,
    alias: 0,
    filesWritten: 0,
    bytesWritten: 0,
  };
  const images = join(root, 'images');
  mkdirSync(images, { recursive: true });
  const made = new Set<string>();
  const write = (rel: string, content: string | Buffer) => {
    const full = join(images, rel);
    const dir = full.slice(0, full.lastIndexOf('/'));
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    writeFileSync(full, content);
    s.filesWritten++;
    s.bytesWritten += typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  };

  writeFileSync(join(root, 'Makefile'), 'include generated/images.mk\n');
  write(
    'mkimages.yaml',
    `defaultPlatforms: [${buildable ? 'linux/amd64' : 'linux/amd64, linux/arm64'}]\nregistry: registry.example/bench\nlocalPrefix: mkbench.local\n`,
  );

  // Earlier images with a VERSION and a linux/amd64 platform: candidate parents.
  const parents: Array<{ name: string; published: string; version: string }> = [];
  for (let i = 0; i < opts.images; i++) {
    const nested = chance(0.1);
    const name = nested ? `group-${Math.floor(rand() * 5)}/img-${pad(i)}` : `img-${pad(i)}`;
    if (nested) s.nested++;
    const version = chance(0.2) ? `1.${i % 7}.${i}` : undefined;
    if (version) s.versioned++;
    const alias = !buildable && chance(0.01) ? `alias-${pad(i)}` : undefined;
    if (alias) s.alias++;

    // Platforms and base images.
    let baseimage: string | undefined;
    let windows = false;
    const roll = rand();
    if (parents.length > 0 && roll < 0.12) {
      const p = parents[Math.floor(rand() * parents.length)];
      baseimage = `linux/amd64=REGISTRY/${p.published}:${p.version}-linux-amd64\n`;
      s.inTreeDeps++;
    } else if (!buildable && roll < 0.14) {
      baseimage = `linux/amd64=${EXTERNAL_BASE}\nwindows/amd64/ltsc2022=${WINDOWS_BASE}\n`;
      windows = true;
      s.windows++;
    } else if (!buildable && roll < 0.19) {
      baseimage = `# Kubernetes style\nlinux/amd64=${EXTERNAL_BASE}\nlinux/arm64=${EXTERNAL_BASE}\n`;
      s.multiArch++;
    }

    // Payload.
    const fileNames: string[] = [];
    for (let f = 0; f < opts.files; f++) {
      const rel = f % 2 === 1 ? `src/file-${f}.dat` : `file-${f}.dat`;
      fileNames.push(rel);
      write(`${name}/${rel}`, payload(rand, opts.fileSize));
    }

    const from = baseimage ? 'ARG BASEIMAGE\nFROM $BASEIMAGE' : buildable ? 'FROM scratch' : chance(0.5) ? 'FROM scratch' : `FROM ${EXTERNAL_BASE}`;
    const labels = `LABEL org.example.bench.image="${name}"`;
    write(`${name}/Dockerfile`, `# synthetic image ${i}\n${from}\n${labels}\nCOPY . /srv/${name}/\n`);
    if (windows) write(`${name}/Dockerfile_windows`, `ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY ${fileNames[0] ?? 'Dockerfile'} C:/srv/\n`);
    if (baseimage) write(`${name}/BASEIMAGE`, baseimage);
    if (version) write(`${name}/VERSION`, `${version}\n`);
    if (alias) write(`${name}/ALIAS`, `${alias}\n`);
    if (chance(0.05)) {
      write(`${name}/.dockerignore`, '# not sent to the engine\n*.md\n*.tmp\n');
      write(`${name}/NOTES.md`, `notes for ${name}\n`);
      s.dockerignore++;
    }
    if (!buildable && chance(opts.imageYaml ?? 0.03)) {
      write(`${name}/image.yaml`, `groups: [bench-extra]\nbuildArgs:\n  GREETING: hello-${i}\nlabels:\n  org.example.index: ${i}\n`);
      s.imageYaml++;
    }
    if (version) parents.push({ name, published: alias ?? name, version });
  }
  return s;
}
