// Checks of Windows Dockerfiles. They are built by buildx on Linux workers,
// which cannot run a Windows stage's RUN or WORKDIR, and which take an image
// with no --platform for a Windows one. Both are warnings: a remote Windows
// engine (REMOTE_DOCKER_URL_<os_version>) builds such Dockerfiles fine.

import { Diagnostics, shown } from '../diagnostics.js';
import { REGISTRY_TOKEN } from '../parse/baseimage.js';
import { expandArgs } from '../parse/dockerfile.js';
import { parseReference } from '../parse/grammar.js';
import type { ResolvedImage } from './image.js';
import { fromArgs } from './platforms.js';

export function checkWindowsDockerfiles(images: readonly ResolvedImage[], byPublished: ReadonlyMap<string, readonly ResolvedImage[]>, diags: Diagnostics): void {
  /** An in-tree image built only for Linux, or a tag that says linux (`…-linux-cache`). */
  const linuxOnly = (ref: string): boolean => {
    if (ref.startsWith(`${REGISTRY_TOKEN}/`)) {
      const parsed = parseReference(ref.slice(REGISTRY_TOKEN.length + 1));
      const inTree = parsed ? byPublished.get(parsed.path) : undefined;
      if (inTree && inTree.every((i) => i.platforms.length > 0 && i.platforms.every((p) => p.platform.os === 'linux'))) return true;
    }
    const tag = ref.includes(':') ? ref.slice(ref.lastIndexOf(':') + 1) : '';
    return /(^|[-_.])linux([-_.]|$)/.test(tag);
  };
  for (const img of images) {
    const seen = new Set<string>();
    for (const b of img.platforms) {
      const parsed = b.parsed;
      if (b.platform.os !== 'windows' || !parsed || seen.has(b.dockerfile)) continue;
      seen.add(b.dockerfile);
      const file = `${img.dir}/${b.dockerfile}`;
      const args = fromArgs(b, img.buildArgs);
      parsed.stages.forEach((stage, i) => {
        if (stage.platform?.startsWith('linux/')) return;
        if (linuxOnly(expandArgs(stage.image, args))) {
          diags.warn(file, stage.line, `FROM of the Linux-only image ${shown(stage.image)} in a Windows build, expected FROM --platform=linux/amd64 (buildx takes an image with no --platform for a Windows one), found no --platform`);
          // Unmarked, buildx takes the stage for a Windows one: its RUN steps fail too.
        }
        for (const inst of parsed.instructions) {
          if (inst.stage !== i || (inst.keyword !== 'RUN' && inst.keyword !== 'WORKDIR')) continue;
          diags.warn(
            file,
            inst.line,
            `${inst.keyword} in a Windows stage cannot work under buildx, expected it in a Linux stage (FROM --platform=linux/amd64 …) whose result is copied, or a remote Windows engine (REMOTE_DOCKER_URL_<os_version>), found ${inst.keyword}`,
          );
        }
      });
    }
  }
}
