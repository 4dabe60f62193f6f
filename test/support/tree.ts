// Writes image trees for tests into fresh temporary folders (never into the
// source tree) and runs the generator and GNU make on them.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../generator/cli.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(PROJECT_ROOT, 'dist/generator/cli.js');
export const FAKE_DOCKER = join(PROJECT_ROOT, 'test/support/fake-docker');

/** File content, or a symlink `{ link: target }`, or an executable `{ exec: content }`. */
export type Spec = Record<string, string | Buffer | { link: string } | { exec: string }>;

export function makeTree(files: Spec, prefix = 'mkimages-test-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  writeTree(root, files);
  writeFileSync(join(root, 'Makefile'), 'include generated/images.mk\n');
  return root;
}

export function writeTree(root: string, files: Spec): void {
  for (const [rel, content] of Object.entries(files)) {
    const full = join(root, rel);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof content === 'object' && !Buffer.isBuffer(content) && 'link' in content) symlinkSync(content.link, full);
    else if (typeof content === 'object' && !Buffer.isBuffer(content) && 'exec' in content) {
      writeFileSync(full, content.exec);
      chmodSync(full, 0o755);
    } else writeFileSync(full, content);
  }
}

export function removeTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

export function runCli(root: string, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, '--root', root, ...args], { encoding: 'utf8' });
}

export function runMake(root: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync('make', ['--no-print-directory', '-C', root, ...args], {
    encoding: 'utf8',
    // The stand-in docker answers registry reads as `buildx imagetools` does.
    env: { ...process.env, LC_ALL: 'C', REGISTRY_TOOL: 'imagetools', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Every file under dir (names and bytes, base64), to compare before and after. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (statSync(join(dir, path)).isDirectory()) walk(path);
      else out[path] = readFileSync(join(dir, path)).toString('base64');
    }
  };
  walk('');
  return out;
}

/** Every output file of a generate() result, generated/rules/ included, by path relative to the root. */
export function outputsOf(result: { files: ReadonlyMap<string, string>; dirs: ReadonlyMap<string, { names: readonly string[]; content(name: string): string }> }): Map<string, string> {
  const out = new Map(result.files);
  for (const [dir, d] of result.dirs) for (const name of d.names) out.set(`${dir}/${name}`, d.content(name));
  return out;
}

/** The CLI's main() in-process, with its output captured. */
export function runMain(root: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = main(['--root', root, ...args], { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t) });
  return { status, stdout, stderr };
}

/** Canary files: `canary` itself, and any file named CANARY below `root`. */
export function findCanaries(canary: string, root?: string): string[] {
  const found: string[] = [];
  if (existsSync(canary)) found.push(canary);
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (d.name === 'CANARY') found.push(join(dir, d.name));
      if (d.isDirectory()) walk(join(dir, d.name));
    }
  };
  if (root) walk(root);
  return found;
}
