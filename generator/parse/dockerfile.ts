// Dockerfiles, read with a real parser (dockerfile-ast): the stages' FROM
// references with their --platform flags, the ARG defaults before the first
// FROM, and every instruction with its line, for dependency inference and the
// checks of Windows Dockerfiles.

import { DockerfileParser } from 'dockerfile-ast';
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
  const doc = DockerfileParser.parse(text);
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
  if (stages.length === 0) {
    diags.error(file, instructions[0]?.line ?? 1, `has no FROM, expected a FROM instruction before any other, found ${instructions[0]?.keyword ?? 'only comments'}`);
    return undefined;
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
