// Removing images by name from an engine that may be the user's own: only
// references matching the given test, never anything by ID or by dangling-ness.

import { run } from './proc.js';

/**
 * Removes every image reference (repository:tag) for which `match` is true.
 * Returns the references removed. Untagged (<none>) images are not listed, so
 * they are never touched.
 */
export async function removeImagesMatching(
  docker: string,
  env: NodeJS.ProcessEnv,
  match: (ref: string) => boolean,
): Promise<string[]> {
  const ls = await run(docker, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], { env });
  if (ls.code !== 0) throw new Error(`docker image ls failed: ${ls.stderr.trim()}`);
  const refs = [
    ...new Set(
      ls.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s && !s.includes('<none>') && match(s)),
    ),
  ];
  // Tags only (no -f): an image still used by a container stays, and the
  // removal of its other tags still goes ahead.
  for (let i = 0; i < refs.length; i += 50) {
    await run(docker, ['image', 'rm', ...refs.slice(i, i + 50)], { env });
  }
  if (refs.length === 0) return [];
  const after = await run(docker, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], { env });
  const left = new Set(after.stdout.split('\n').map((s) => s.trim()));
  return refs.filter((r) => !left.has(r));
}

/** The repository path of a reference without a registry host, e.g. "a/b:t" for "127.0.0.1:5000/a/b:t". */
export function withoutRegistry(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return ref;
  const first = ref.slice(0, slash);
  // As in Docker's reference grammar: a first component with '.' or ':' or
  // equal to "localhost" is a registry host.
  return first.includes('.') || first.includes(':') || first === 'localhost' ? ref.slice(slash + 1) : ref;
}
