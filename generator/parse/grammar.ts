// Grammars of Docker names, tags and references (distribution/reference), and
// of platforms. Values from the tree that pass these checks contain no
// character with a meaning to make or sh, so they can be emitted verbatim.

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
/** A repository path as pushed to a registry (`tools/lister`). */
export const REPOSITORY_PATH = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
export const PATH_COMPONENT_RE = new RegExp(`^${PATH_COMPONENT}$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
export const TAG_RE = new RegExp(`^${TAG}$`);
const REFERENCE_RE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);

export interface ParsedReference {
  domain?: string;
  path: string;
  tag?: string;
  digest?: string;
}

export function parseReference(ref: string): ParsedReference | undefined {
  if (ref.length > 255 + 128 + 80) return undefined;
  const m = REFERENCE_RE.exec(ref);
  if (!m) return undefined;
  let domain: string | undefined = m[1];
  let path = m[2];
  // distribution/reference: the first component is a domain only when it
  // looks like one (has a dot or a port, or is localhost); otherwise it is
  // part of the path (`library/busybox`).
  if (domain === undefined) {
    // nothing to split
  } else if (!/[.:]/.test(domain) && domain !== 'localhost' && domain === domain.toLowerCase()) {
    path = `${domain}/${path}`;
    domain = undefined;
  }
  return { domain, path, tag: m[3], digest: m[4] };
}

export const OSES = ['linux', 'windows'] as const;
export const ARCHES = ['amd64', 'arm64', 'arm', 'ppc64le', 's390x', '386', 'riscv64', 'mips64le', 'loong64'] as const;
/** gVisor names architectures the way `uname -m` does. */
export const ARCH_ALIASES: Readonly<Record<string, string>> = { x86_64: 'amd64', aarch64: 'arm64' };
export const OS_VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._]*$/;

export type Os = (typeof OSES)[number];

export interface Platform {
  os: Os;
  arch: string;
  osVersion?: string;
}

/** `linux/amd64`, `windows/amd64/ltsc2022`. */
export function platformSpec(p: Platform): string {
  return p.osVersion ? `${p.os}/${p.arch}/${p.osVersion}` : `${p.os}/${p.arch}`;
}

/** The suffix used in tags and target names: `linux-amd64`, `windows-amd64-ltsc2022`. */
export function platformKey(p: Platform): string {
  return p.osVersion ? `${p.os}-${p.arch}-${p.osVersion}` : `${p.os}-${p.arch}`;
}

export function comparePlatforms(a: Platform, b: Platform): number {
  const order = (p: Platform) => [OSES.indexOf(p.os), (ARCHES as readonly string[]).indexOf(p.arch)];
  const [ao, aa] = order(a);
  const [bo, ba] = order(b);
  // Plain code-unit order: the same whatever the locale (or ICU data) of the machine.
  const av = a.osVersion ?? '';
  const bv = b.osVersion ?? '';
  return ao - bo || aa - ba || (av < bv ? -1 : av > bv ? 1 : 0);
}

/**
 * Parse `os/arch[/os_version]`. Returns a message describing what is wrong
 * instead when the text is not a platform.
 */
export function parsePlatform(text: string): Platform | string {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    return `expected os/arch or os/arch/os_version (e.g. linux/amd64, windows/amd64/ltsc2022), found ${JSON.stringify(text)}`;
  }
  const [os, rawArch, osVersion] = parts;
  if (!(OSES as readonly string[]).includes(os)) {
    return `unknown OS ${JSON.stringify(os)}, expected one of ${OSES.join(', ')}`;
  }
  const arch = ARCH_ALIASES[rawArch] ?? rawArch;
  if (!(ARCHES as readonly string[]).includes(arch)) {
    return `unknown architecture ${JSON.stringify(rawArch)}, expected one of ${ARCHES.join(', ')}`;
  }
  if (osVersion !== undefined && !OS_VERSION_RE.test(osVersion)) {
    return `invalid os_version ${JSON.stringify(osVersion)}, expected letters, digits, "." or "_" (e.g. ltsc2022, 1809)`;
  }
  if (os === 'windows' && osVersion === undefined) {
    return `a Windows platform needs an os_version, expected windows/${arch}/<os_version> (e.g. windows/amd64/ltsc2022), found ${JSON.stringify(text)}`;
  }
  return { os: os as Os, arch, osVersion };
}

/** A name an image can be published under: a repository path of at most 255 characters. */
export function isRepositoryPath(name: string): boolean {
  return REPOSITORY_PATH.test(name) && name.length <= 255;
}
