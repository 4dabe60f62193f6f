// The floor generation is judged against: `node dist/bench/floor.js ROOT`
// walks ROOT/images, reads every regular file and sha256s it in one Node
// process, and prints the number of files and bytes. Any generator must do
// at least this (every byte goes into a content hash), so `generation /
// floor`, both timed as child processes with Node's start-up included and
// run in turn on the same tree, is a ratio that a busy machine moves far
// less than either wall time.
//
// `node dist/bench/floor.js ROOT --write DIR FILES BYTES` does the same and
// then writes what a generator must write at least: FILES files of BYTES
// bytes in all under DIR (one filler text, no rendering), flushed with one
// `sync -f` as the generator flushes its own. With FILES and BYTES those of
// generated/, it is the floor of a generator that also has to write its
// output, before it parses, checks or renders anything.
//
// `node dist/bench/floor.js ROOT --generator-read --write DIR FILES BYTES`
// reads with the generator itself instead: it loads the CLI's modules and
// runs readTree (the generator's only reader), then writes as above. What it
// adds to the floor is what generation costs before the model and the
// rendering start; what generation adds to it is those two stages alone.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function readAndHash(imagesDir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (dir: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, d.name);
      if (d.isDirectory()) walk(full);
      else if (d.isFile()) {
        const b = readFileSync(full);
        createHash('sha256').update(b).digest('hex');
        files++;
        bytes += b.length;
      }
    }
  };
  walk(imagesDir);
  return { files, bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.argv[2];
  if (!root) {
    process.stderr.write('usage: node dist/bench/floor.js ROOT [--generator-read] [--write DIR FILES BYTES] (reads ROOT/images)\n');
    process.exit(2);
  }
  const args = process.argv.slice(3);
  const viaGenerator = args[0] === '--generator-read';
  if (viaGenerator) args.shift();
  const { files, bytes } = viaGenerator ? await readWithGenerator(resolve(root)) : readAndHash(join(resolve(root), 'images'));
  if (args[0] === '--write') writeFiller(args[1], Number(args[2]), Number(args[3]));
  process.stdout.write(bytes === undefined ? `${files} files\n` : `${files} files, ${bytes} bytes\n`);
}

/** `count` files of `total` bytes in all, under `dir` (made), flushed to disk. */
export function writeFiller(dir: string, count: number, total: number): void {
  mkdirSync(dir, { recursive: true });
  const size = Math.ceil(total / Math.max(count, 1));
  const filler = 'build-x:\n\t$(DOCKER) buildx build --platform linux/amd64 -t $(REGISTRY)/x:0123456789abcdef images/x\n'.repeat(Math.ceil(size / 90)).slice(0, size);
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `f${i}.mk`), filler);
  spawnSync('sync', ['-f', dir]);
}

/** The CLI's modules loaded, and the tree read by the generator's own reader (readTree). */
async function readWithGenerator(root: string): Promise<{ files: number; bytes?: number }> {
  await import('../generator/cli.js');
  const { readTree } = await import('../generator/scan/tree.js');
  let files = 0;
  for (const e of readTree(root).entries) if (e.kind === 'file') files++;
  return { files };
}
