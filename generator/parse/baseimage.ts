// BASEIMAGE (Kubernetes test/images): one `os/arch[/os_version]=image-ref`
// per line. The keys are the image's platforms; the literal token REGISTRY in
// a value stands for the registry chosen at make time.

import { Diagnostics, shown } from '../diagnostics.js';
import { parsePlatform, parseReference, platformSpec, type Platform } from './grammar.js';
import { decodeText, meaningfulLines } from './text.js';

export interface BaseImageEntry {
  platform: Platform;
  /** The reference as written, REGISTRY token included. */
  ref: string;
  line: number;
}

export const REGISTRY_TOKEN = 'REGISTRY';
/** Stands in for the registry when a value is checked against the reference grammar. */
const REGISTRY_PLACEHOLDER = 'registry.invalid:5000';

/**
 * Check a reference that may use the REGISTRY token; returns the message
 * (about `subject`, e.g. "the base image of linux/amd64") or undefined.
 */
export function checkReference(ref: string, subject: string): string | undefined {
  if (ref === '') return `${subject} is empty, expected an image reference such as busybox:1.36, found nothing`;
  const resolved = ref.split(REGISTRY_TOKEN).join(REGISTRY_PLACEHOLDER);
  if (!parseReference(resolved)) {
    return `${subject} is not a valid image reference, expected [registry/]name[:tag][@digest] in lowercase (REGISTRY may stand for the registry), found ${shown(ref)}`;
  }
  return undefined;
}

export function parseBaseimage(file: string, bytes: Buffer, diags: Diagnostics): BaseImageEntry[] {
  const text = decodeText(file, bytes, diags);
  if (text === undefined) return [];
  const entries: BaseImageEntry[] = [];
  const seen = new Map<string, number>();
  for (const line of meaningfulLines(text)) {
    const body = line.text.trim();
    const eq = body.indexOf('=');
    if (eq < 0) {
      diags.error(file, line.number, `no "=" in line, expected os/arch[/os_version]=image-ref, found ${shown(body)}`);
      continue;
    }
    const key = body.slice(0, eq).trim();
    const ref = body.slice(eq + 1).trim();
    const platform = parsePlatform(key);
    if (typeof platform === 'string') {
      diags.error(file, line.number, `invalid platform key: ${platform}`);
      continue;
    }
    const spec = platformSpec(platform);
    const earlier = seen.get(spec);
    if (earlier !== undefined) {
      diags.error(file, line.number, `duplicate platform ${spec}, expected each platform once, found it again (first on line ${earlier})`);
      continue;
    }
    seen.set(spec, line.number);
    const problem = checkReference(ref, `the base image of ${spec}`);
    if (problem) {
      diags.error(file, line.number, problem);
      continue;
    }
    entries.push({ platform, ref, line: line.number });
  }
  return entries;
}
