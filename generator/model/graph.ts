// The dependency graph: an image depends on an in-tree image it names in
// BASEIMAGE (REGISTRY/<name>:…), in a FROM line (with build args expanded),
// or in dependsOn. Parents are found per platform; a cycle is an error that
// names the loop.

import { compareBytes } from '../scan/tree.js';
import { Diagnostics, shown } from '../diagnostics.js';
import { REGISTRY_TOKEN } from '../parse/baseimage.js';
import { expandArgs } from '../parse/dockerfile.js';
import { parseReference } from '../parse/grammar.js';
import type { ResolvedImage } from './image.js';
import { baseImagesAt, fromArgs, LOCAL_TOKEN, type Where } from './platforms.js';
import type { ParentRef } from './types.js';

/** A reference to another image, found while reading one. */
interface Want extends Where {
  ref: string;
  /** `registry`: REGISTRY/<published name>:<tag>; `local`: <name>[:latest] under LOCAL_PREFIX; `name`: a dependsOn name. */
  kind: 'registry' | 'local' | 'name';
  /** The child's platform that needs it; undefined: every platform. */
  childKey?: string;
  /** The FROM's --platform flag. */
  fromPlatform?: string;
}

export interface Graph {
  /** Image name → the in-tree images it is built from, sorted by bytes. */
  parents: Map<string, string[]>;
  /** Image name → platform key → what that platform is built from (unsorted). */
  platformParents: Map<string, Map<string, ParentRef[]>>;
  /** Whether there is a cycle (reported); hashes are meaningless then. */
  hasCycle: boolean;
}

/** References to other images: BASEIMAGE values, FROM lines with build args substituted, dependsOn. */
function wantsOf(img: ResolvedImage): Want[] {
  const wants: Want[] = [];
  const baseAt = baseImagesAt(img.source);
  for (const b of img.platforms) {
    if (b.baseImage) wants.push({ ref: b.baseImage, kind: 'registry', childKey: b.key, file: baseAt.get(b.key)?.file ?? `${img.dir}/BASEIMAGE`, line: baseAt.get(b.key)?.line });
    if (!b.parsed) continue;
    const stageNames = new Set<string>();
    // The build args are gathered only for a FROM that names one: most name an image outright.
    let args: Map<string, string | undefined> | undefined;
    const file = `${img.dir}/${b.dockerfile}`;
    for (const stage of b.parsed.stages) {
      const ref = stage.image.includes('$') ? expandArgs(stage.image, (args ??= fromArgs(b, img.buildArgs))) : stage.image;
      if (stage.alias) stageNames.add(stage.alias.toLowerCase());
      if (stageNames.has(ref.toLowerCase()) && ref.toLowerCase() !== stage.alias?.toLowerCase()) continue;
      if (ref.startsWith(`${LOCAL_TOKEN}/`)) {
        wants.push({ ref: ref.slice(LOCAL_TOKEN.length + 1), kind: 'local', childKey: b.key, fromPlatform: stage.platform, file, line: stage.line });
      } else if (ref.startsWith(`${REGISTRY_TOKEN}/`)) {
        // `FROM $BASEIMAGE` names what the BASEIMAGE entry already wants (and warns about, once).
        if (ref === b.baseImage && stage.platform === undefined) continue;
        wants.push({ ref, kind: 'registry', childKey: b.key, fromPlatform: stage.platform, file, line: stage.line });
      }
    }
  }
  for (const dep of img.dependsOn) wants.push({ ref: dep.name, kind: 'name', file: img.source.yamlFile ?? img.dir, line: dep.line });
  return wants;
}

interface Index {
  byName: Map<string, ResolvedImage>;
  byPublished: Map<string, ResolvedImage[]>;
}

export function indexImages(images: readonly ResolvedImage[]): Index {
  const byName = new Map(images.map((i) => [i.name, i]));
  const byPublished = new Map<string, ResolvedImage[]>();
  for (const i of images) byPublished.set(i.publishedName, [...(byPublished.get(i.publishedName) ?? []), i]);
  return { byName, byPublished };
}

/** The in-tree image (and its platform) a reference names; undefined for an external image. */
function resolveWant(w: Want, child: ResolvedImage, { byName, byPublished }: Index, imagesDir: string, diags: Diagnostics): ParentRef | undefined {
  if (w.kind === 'name') {
    const p = byName.get(w.ref);
    if (!p) {
      diags.error(w.file, w.line, `dependsOn names no image of this tree, expected a folder name below ${imagesDir}/ such as ${shown([...byName.keys()].find((n) => n !== child.name) ?? 'base')}, found ${shown(w.ref)}`);
      return undefined;
    }
    return { name: p.name };
  }
  const parsed = parseReference(w.kind === 'registry' ? w.ref.slice(REGISTRY_TOKEN.length + 1) : w.ref);
  if (!parsed) return undefined;
  const tag = parsed.tag;
  let candidates: ResolvedImage[];
  if (w.kind === 'local') {
    const p = byName.get(parsed.path);
    candidates = p ? [p] : [];
  } else candidates = byPublished.get(parsed.path) ?? [];
  if (candidates.length === 0) return undefined; // an external image
  // Several folders may publish one name (ALIAS): the tag says which.
  let match: ResolvedImage | undefined;
  let suffix: string | undefined;
  if (w.kind === 'local' && (tag === undefined || tag === 'latest')) match = candidates[0];
  for (const c of candidates) {
    if (match) break;
    if (c.version === undefined) continue;
    if (tag === c.version) match = c;
    else if (tag?.startsWith(`${c.version}-`)) {
      match = c;
      suffix = tag.slice(c.version.length + 1);
    }
  }
  if (!match && candidates.length === 1 && candidates[0].version === undefined) match = candidates[0];
  if (!match) {
    diags.warn(
      w.file,
      w.line,
      `${shown(w.ref)} names the in-tree image ${shown(candidates[0].name)} with a tag it does not publish, so it is treated as an external image, expected the tag ${candidates.map((c) => shown(c.version ?? 'content hash')).join(' or ')}, found ${tag === undefined ? 'no tag' : shown(tag)}`,
    );
    return undefined;
  }
  if (match.name === child.name) return undefined;
  const keys = match.platforms.map((p) => p.key);
  let key: string | undefined;
  if (suffix !== undefined && keys.includes(suffix)) key = suffix;
  else {
    const childPlatform = child.platforms.find((p) => p.key === w.childKey);
    const wanted = w.fromPlatform && /^[a-z]+\/[a-z0-9]+$/.test(w.fromPlatform) ? w.fromPlatform.replace('/', '-') : childPlatform ? `${childPlatform.platform.os}-${childPlatform.platform.arch}` : undefined;
    if (w.childKey && keys.includes(w.childKey)) key = w.childKey;
    else if (wanted && keys.includes(wanted)) key = wanted;
  }
  return { name: match.name, key };
}

/** Tarjan's strongly connected components; each of more than one image (or an image that needs itself) is a cycle. */
function findCycles(names: string[], edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of [...(edges.get(v) ?? [])].sort()) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || edges.get(v)?.has(v)) cycles.push(comp.sort());
    }
  };
  for (const n of names) if (!idx.has(n)) visit(n);
  return cycles;
}

/** The shortest loop start -> … -> start through the members of one cycle. */
function cyclePath(start: string, members: ReadonlySet<string>, edges: Map<string, Set<string>>): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(edges.get(v) ?? [])].sort(compareBytes)) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0])!);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

export function buildGraph(images: readonly ResolvedImage[], index: Index, imagesDir: string, diags: Diagnostics): Graph {
  const edges = new Map<string, Set<string>>();
  const platformParents = new Map<string, Map<string, ParentRef[]>>();
  /** Where each edge child -> parent was first named, for the message about a cycle. */
  const edgeAt = new Map<string, Where>();
  for (const img of images) {
    const parents = new Set<string>();
    const perPlatform = new Map<string, ParentRef[]>(img.platforms.map((p) => [p.key, []]));
    for (const w of wantsOf(img)) {
      const r = resolveWant(w, img, index, imagesDir, diags);
      if (!r) continue;
      if (r.name === img.name) {
        diags.error(w.file, w.line, `image ${img.name} depends on itself, expected another image, found ${shown(w.ref)}`);
        continue;
      }
      parents.add(r.name);
      if (!edgeAt.has(`${img.name}\0${r.name}`)) edgeAt.set(`${img.name}\0${r.name}`, { file: w.file, line: w.line });
      for (const [key, list] of perPlatform) {
        if (w.childKey !== undefined && key !== w.childKey) continue;
        if (!list.some((x) => x.name === r.name && x.key === r.key)) list.push(r);
      }
    }
    edges.set(img.name, parents);
    platformParents.set(img.name, perPlatform);
  }
  const cycles = findCycles(images.map((i) => i.name).sort(compareBytes), edges);
  for (const c of cycles) {
    const path = cyclePath(c[0], new Set(c), edges);
    const at = edgeAt.get(`${path[0]}\0${path[1]}`) ?? { file: index.byName.get(c[0])!.dir };
    diags.error(at.file, at.line, `dependency cycle, expected images built from one another without a loop, found ${path.join(' -> ')} (each built from the next)`);
  }
  const parents = new Map([...edges].map(([n, set]) => [n, [...set].sort(compareBytes)]));
  return { parents, platformParents, hasCycle: cycles.length > 0 };
}
