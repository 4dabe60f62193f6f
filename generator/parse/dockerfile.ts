// Dockerfiles: the stages' FROM references with their --platform flags, the
// ARG defaults before the first FROM, and every instruction with its line,
// for dependency inference and the checks of Windows Dockerfiles.
//
// Most Dockerfiles are read by a line scan (scanDockerfile): instructions,
// comments, line continuations and plain FROM / ARG lines. Anything it
// could misread (heredocs, an escape directive, quotes or continuations in
// a FROM or a global ARG, unusual whitespace) goes to a real parser,
// dockerfile-ast, loaded only then (it costs more to load than most trees
// take to scan). A unit test holds the scan to dockerfile-ast's answers on
// every Dockerfile of the fixtures.

import { createRequire } from 'node:module';
import type { Diagnostics } from '../diagnostics.js';
import { decodeText } from './text.js';

export interface Stage {
  /** 1-based line of the FROM. */
  line: number;
  /** The image as written, variables unexpanded. */
  image: string;
  platform?: string;
  alias?: string;
}

export interface Instruction {
  keyword: string;
  line: number;
  /** Index into `stages` of the stage it belongs to, -1 before the first FROM. */
  stage: number;
}

export interface ParsedDockerfile {
  stages: Stage[];
  /** ARG defaults declared before the first FROM (the only ones FROM can use). */
  globalArgs: Map<string, string | undefined>;
  instructions: Instruction[];
}

export function parseDockerfile(file: string, bytes: Buffer, diags: Diagnostics): ParsedDockerfile | undefined {
  const text = decodeText(file, bytes, diags);
  if (text === undefined) return undefined;
  if (text.trim() === '') {
    diags.error(file, 1, 'is empty, expected a Dockerfile starting with FROM, found nothing');
    return undefined;
  }
  const parsed = scanDockerfile(text) ?? parseWithDockerfileAst(text);
  if (parsed.stages.length === 0) {
    const first = parsed.instructions[0];
    diags.error(file, first?.line ?? 1, `has no FROM, expected a FROM instruction before any other, found ${first?.keyword ?? 'only comments'}`);
    return undefined;
  }
  return parsed;
}

// Whitespace a line scan and dockerfile-ast might split differently, a lone
// CR (a line break to some parsers), and heredoc or escape-directive syntax.
const NEEDS_PARSER = /[\u000b\u000c\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]|\r(?!\n)|<<|^[ \t]*#[ \t]*escape[ \t]*=/im;
const CONTINUED = /\\[ \t]*$/;

/**
 * The Dockerfile read line by line, or undefined when it holds anything the
 * scan could read differently from a real parser.
 */
export function scanDockerfile(text: string): ParsedDockerfile | undefined {
  if (NEEDS_PARSER.test(text)) return undefined;
  const stages: Stage[] = [];
  const globalArgs = new Map<string, string | undefined>();
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    const head = first.trim();
    if (head === '') continue;
    if (head.startsWith('#')) {
      if (CONTINUED.test(first)) return undefined;
      continue;
    }
    const line = i + 1;
    let body = head;
    let multiline = false;
    // Continuation lines: comments inside are dropped; a blank line or an escaped backslash is left to the parser.
    for (let l = first; CONTINUED.test(l) && i + 1 < lines.length; ) {
      if (/\\\\[ \t]*$/.test(l)) return undefined;
      l = lines[++i];
      if (l.endsWith('\r')) l = l.slice(0, -1);
      const t = l.trim();
      if (t === '') return undefined;
      if (t.startsWith('#')) {
        if (CONTINUED.test(l)) return undefined;
        l = '\\';
        continue;
      }
      body += ` ${t}`;
      multiline = true;
    }
    const words = body.split(/[ \t]+/);
    if (words[0].includes('\\')) return undefined;
    const keyword = words[0].toUpperCase();
    if (keyword === 'FROM') {
      const stage = scanFrom(words.slice(1), line, multiline || /["'\\]/.test(body));
      if (!stage) return undefined;
      stages.push(stage);
    } else if (keyword === 'ARG' && stages.length === 0) {
      if (multiline || /["'\\]/.test(body) || words.length < 2) return undefined;
      for (const w of words.slice(1)) {
        const eq = w.indexOf('=');
        if (eq < 0) globalArgs.set(w, undefined);
        else globalArgs.set(w.slice(0, eq), w.slice(eq + 1));
      }
    }
    instructions.push({ keyword, line, stage: stages.length - 1 });
  }
  return { stages, globalArgs, instructions };
}

/** `FROM [--platform=P] image [AS name]` on one line, without quotes; undefined for anything else. */
function scanFrom(args: string[], line: number, unusual: boolean): Stage | undefined {
  if (unusual) return undefined;
  let platform: string | undefined;
  let k = 0;
  for (; k < args.length && args[k].startsWith('--'); k++) {
    const m = /^--platform=(.+)$/.exec(args[k]);
    if (!m || platform !== undefined) return undefined;
    platform = m[1];
  }
  const rest = args.slice(k);
  if (rest.length === 1) return { line, image: rest[0], platform, alias: undefined };
  if (rest.length === 3 && rest[1].toUpperCase() === 'AS') return { line, image: rest[0], platform, alias: rest[2] };
  return undefined;
}

interface DockerfileAst {
  DockerfileParser: {
    parse(text: string): {
      getInstructions(): Array<{ getKeyword(): string; getRange(): { start: { line: number } }; getArguments(): Array<{ getValue(): string }> }>;
      getFROMs(): Array<{ getRange(): { start: { line: number } }; getImage(): string | null; getPlatformFlag(): { getValue(): string | null } | null; getBuildStage(): string | null }>;
    };
  };
}

let dockerfileAst: DockerfileAst | undefined;

/** The Dockerfile as dockerfile-ast reads it (loaded on first use). */
export function parseWithDockerfileAst(text: string): ParsedDockerfile {
  dockerfileAst ??= createRequire(import.meta.url)('dockerfile-ast') as DockerfileAst;
  const doc = dockerfileAst.DockerfileParser.parse(text);
  const stages: Stage[] = [];
  const globalArgs = new Map<string, string | undefined>();
  const instructions: Instruction[] = [];
  for (const inst of doc.getInstructions()) {
    const keyword = inst.getKeyword().toUpperCase();
    const line = inst.getRange().start.line + 1;
    if (keyword === 'FROM') {
      const from = doc.getFROMs().find((f) => f.getRange().start.line + 1 === line);
      stages.push({
        line,
        image: from?.getImage() ?? '',
        platform: from?.getPlatformFlag()?.getValue() ?? undefined,
        alias: from?.getBuildStage() ?? undefined,
      });
    } else if (keyword === 'ARG' && stages.length === 0) {
      for (const arg of inst.getArguments()) {
        const t = arg.getValue();
        const eq = t.indexOf('=');
        if (eq < 0) globalArgs.set(t, undefined);
        else globalArgs.set(t.slice(0, eq), unquote(t.slice(eq + 1)));
      }
    }
    instructions.push({ keyword, line, stage: stages.length - 1 });
  }
  return { stages, globalArgs, instructions };
}

function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) return v.slice(1, -1);
  return v;
}

/**
 * Expand `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` as Docker
 * does in FROM lines. Unknown variables expand to "".
 */
export function expandArgs(text: string, args: ReadonlyMap<string, string | undefined>): string {
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, braced, op, word, bare) => {
    const name = (braced ?? bare) as string;
    const value = args.get(name);
    if (op === ':-') return value ? value : expandArgs(word as string, args);
    if (op === ':+') return value ? expandArgs(word as string, args) : '';
    return value ?? '';
  });
}
