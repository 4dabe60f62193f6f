// YAML files validated against a JSON Schema given by the caller. Every problem
// carries the line of the node it is about: yaml's LineCounter gives lines for
// syntax errors and node ranges; ajv's instancePath is mapped back to a node.

import type { ErrorObject, ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import type { Document, Node, Pair } from 'yaml';
import { Diagnostics, shown } from '../diagnostics.js';
import { decodeText } from './text.js';

type YamlLibrary = typeof import('yaml');
let yamlLibrary: YamlLibrary | undefined;

/** The yaml package, loaded on first use: most image folders hold no YAML. */
function yaml(): YamlLibrary {
  return (yamlLibrary ??= createRequire(import.meta.url)('yaml') as YamlLibrary);
}

export interface YamlFile<T> {
  value: T;
  /** Line of the node at a path (`['buildArgs', 'FOO']`), or of its nearest ancestor. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${shown(value)}`;
  return `${typeof value} ${String(value)}`;
}

function pathOf(instancePath: string): string[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function fieldName(path: readonly string[]): string {
  return path.length === 0 ? 'the top level' : path.join('.');
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

function explain(e: ErrorObject, root: unknown, schemaProps: string[]): { path: string[]; message: string } {
  const path = pathOf(e.instancePath);
  const found = describe(valueAt(root, path));
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = path.length === 0 ? `, expected one of ${schemaProps.join(', ')}` : '';
      return { path: [...path, key], message: `unknown key ${shown(key)} in ${fieldName(path)}${known}` };
    }
    case 'type':
      return { path, message: `${fieldName(path)} has the wrong type, expected ${[e.params.type].flat().join(' or ')}, found ${found}` };
    case 'propertyNames':
      return { path: [...path, String(e.params.propertyName)], message: `${fieldName(path)} has an invalid key, expected a valid key, found ${shown(String(e.params.propertyName))}` };
    case 'pattern':
      if (e.propertyName !== undefined) {
        return { path: [...path, e.propertyName], message: `${fieldName(path)} has an invalid key, expected a name matching ${e.params.pattern}, found ${shown(e.propertyName)}` };
      }
      return { path, message: `${fieldName(path)} is invalid, expected a value matching ${e.params.pattern}, found ${found}` };
    case 'uniqueItems':
      return { path: [...path, String(e.params.i)], message: `${fieldName(path)} has a duplicate item, expected each item once, found ${describe(valueAt(root, [...path, String(e.params.i)]))} twice` };
    case 'enum':
      return { path, message: `${fieldName(path)} is not a known value, expected one of ${(e.params.allowedValues as unknown[]).map((v) => shown(String(v))).join(', ')}, found ${found}` };
    case 'minItems':
      return { path, message: `${fieldName(path)} is empty, expected at least ${e.params.limit} item(s), found none` };
    default:
      return { path, message: `${fieldName(path)} ${e.message ?? 'is invalid'}, found ${found}` };
  }
}

/** A YAML parse error, said the way the other messages are. */
function syntaxMessage(doc: Document, code: string, message: string, offset: number, lineAt: (offset: number) => number): string {
  const { isScalar, visit } = yaml();
  const msg = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') {
    // Name the key and where it was first given.
    let found: Pair | undefined;
    let first: number | undefined;
    visit(doc, {
      Map(_, map) {
        const dup = map.items.find((p) => isScalar(p.key) && p.key.range?.[0] === offset);
        if (!dup || !isScalar(dup.key)) return undefined;
        found = dup;
        const key = String(dup.key.value);
        const earlier = map.items.find((p) => p !== dup && isScalar(p.key) && String(p.key.value) === key);
        if (earlier && isScalar(earlier.key) && earlier.key.range) first = lineAt(earlier.key.range[0]);
        return visit.BREAK;
      },
    });
    const key = found && isScalar(found.key) ? shown(String(found.key.value)) : 'a key';
    return `duplicate key ${key}, expected each key once, found it again${first !== undefined ? ` (first on line ${first})` : ''}`;
  }
  if (code === 'MULTIPLE_DOCS') return 'several YAML documents, expected one document, found a second one';
  return `YAML syntax error, expected valid YAML, found: ${msg}`;
}

function parseFull(text: string): { doc: Document; lineAt: (offset: number) => number } {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  return { doc, lineAt: (offset: number) => lineCounter.linePos(offset).line };
}

/** The file read by the yaml library, its problems reported; undefined when it cannot be read as data. */
function readWithYamlLibrary(file: string, text: string, diags: Diagnostics): { value: unknown; doc: Document; lineAt: (offset: number) => number } | undefined {
  const { isScalar, visit } = yaml();
  const { doc, lineAt } = parseFull(text);
  if (doc.errors.length > 0) {
    for (const err of doc.errors) diags.error(file, lineAt(err.pos[0]), syntaxMessage(doc, err.code, err.message, err.pos[0], lineAt));
    return undefined;
  }
  // Keys must be plain scalars: a list or mapping as a key would be stringified.
  let unreadable = false;
  visit(doc, {
    Pair(_, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        const at = (pair.key as Node).range?.[0] ?? 0;
        diags.error(file, lineAt(at), 'a key is a list or mapping, expected a plain key such as version, found a complex key');
        unreadable = true;
      }
    },
  });
  // An alias must name an anchor set before it.
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) === undefined) {
        diags.error(file, lineAt(alias.range?.[0] ?? 0), `the alias *${alias.source} names no anchor, expected an anchor &${alias.source} set before it, found none`);
        unreadable = true;
      }
    },
  });
  if (unreadable) return undefined;
  for (const w of doc.warnings) {
    diags.warn(file, lineAt(w.pos[0]), `${w.message.split('\n')[0]}, expected plain YAML values; the tag is ignored`);
  }
  try {
    return { value: doc.toJS(), doc, lineAt };
  } catch (e) {
    // Too many aliases (a "billion laughs") are only found while converting.
    diags.error(file, undefined, `cannot be read as data, expected plain YAML values, found ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** Line of the node at a path, or of its nearest ancestor. */
function lineFinder(doc: Document, lineAt: (offset: number) => number): (path: readonly (string | number)[]) => number | undefined {
  const { isMap, isPair, isScalar } = yaml();
  return (path) => {
    for (let n = path.length; n >= 0; n--) {
      // A key's problems point at the key (its value may start on a later
      // line, or be null and have no node at all).
      if (n > 0) {
        const parent = doc.getIn(path.slice(0, n - 1), true);
        if (isMap(parent)) {
          const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(path[n - 1]));
          if (pair && isScalar(pair.key) && pair.key.range) return lineAt(pair.key.range[0]);
        }
      }
      const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && node.range) return lineAt(node.range[0]);
    }
    return undefined;
  };
}

/** Reads a YAML file and validates it with `validate` (a compiled schema, see schemas.ts). */
export function parseYamlFile<T>(file: string, bytes: Buffer, validate: ValidateFunction, diags: Diagnostics): YamlFile<T> | undefined {
  const text = decodeText(file, bytes, diags);
  if (text === undefined) return undefined;
  // Most files are a few plain keys: read without the yaml library, which
  // then parses the file only if a message needs a line number.
  const simple = scanSimpleYaml(text);
  let value: unknown;
  let lineOf: YamlFile<T>['lineOf'];
  if (simple !== undefined) {
    value = simple;
    let full: YamlFile<T>['lineOf'] | undefined;
    lineOf = (path) => {
      if (!full) {
        const { doc, lineAt } = parseFull(text);
        full = lineFinder(doc, lineAt);
      }
      return full(path);
    };
  } else {
    const read = readWithYamlLibrary(file, text, diags);
    if (!read) return undefined;
    ({ value } = read);
    lineOf = lineFinder(read.doc, read.lineAt);
  }
  if (value === null || value === undefined) return { value: {} as T, lineOf };
  if (typeof value !== 'object' || Array.isArray(value)) {
    diags.error(file, lineOf([]) ?? 1, `the top level is not a mapping, expected keys such as version: or platforms:, found ${describe(value)}`);
    return undefined;
  }
  if (!validate(value)) {
    const props = Object.keys((validate.schema as { properties?: object }).properties ?? {});
    const errors = validate.errors ?? [];
    // ajv reports a bad key twice: the pattern it fails, then propertyNames.
    const keyed = new Set(errors.filter((e) => e.keyword === 'pattern' && e.propertyName !== undefined).map((e) => `${e.instancePath}/${e.propertyName}`));
    for (const e of errors) {
      if (e.keyword === 'propertyNames' && keyed.has(`${e.instancePath}/${String(e.params.propertyName)}`)) continue;
      const { path, message } = explain(e, value, props);
      diags.error(file, lineOf(path), message);
    }
    return undefined;
  }
  return { value: value as T, lineOf };
}

// --- The common case, without the yaml library -------------------------------

const TOP_KEY = /^([A-Za-z_][A-Za-z0-9_]*):(?:[ ]+(.*))?$/;
const NESTED_KEY = /^([ ]+)([A-Za-z0-9_][A-Za-z0-9_./-]*):(?:[ ]+(.*))?$/;
const ITEM = /^([ ]*)-[ ]+(.*)$/;
// Plain scalars: a letter, digit, "_" or "/" first, then nothing YAML reads
// specially (no ": ", no " #", no flow or block indicator).
const PLAIN = /^[A-Za-z0-9_/][A-Za-z0-9_./:@+=~,?!%&*#'"()-]*(?: [A-Za-z0-9_./@+=~,?!%&*'"()-][A-Za-z0-9_./:@+=~,?!%&*#'"()-]*)*$/;
// What YAML 1.2's core schema reads as other than a string (null, booleans
// in other spellings, numbers): left to the library.
const NOT_STRING = /^(?:~|null|Null|NULL|True|TRUE|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const UNUSUAL = /[\t\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]|\r(?!\n)/;

/** One scalar written plainly or quoted without escapes; undefined for anything else. */
function simpleScalar(raw: string): string | number | boolean | undefined {
  const s = raw.trim();
  let m = /^"([^"\\]*)"$/.exec(s) ?? /^'([^']*)'$/.exec(s);
  if (m) return m[1];
  if (s === 'true' || s === 'false') return s === 'true';
  if (/^(?:0|[1-9][0-9]{0,14})$/.test(s)) return Number(s);
  if (!PLAIN.test(s) || /:$|: /.test(s) || NOT_STRING.test(s)) return undefined;
  return s;
}

/** A block mapping key as the library turns it into an object key (a number's decimal text), or undefined. */
function simpleKey(key: string): string | undefined {
  if (key === '__proto__') return undefined;
  if (/^(?:0|[1-9][0-9]{0,14})$/.test(key)) return key;
  return NOT_STRING.test(key) || key === 'true' || key === 'false' ? undefined : key;
}

/** `[a, b]` of simple scalars; undefined for anything else. */
function simpleFlowSequence(raw: string): unknown[] | undefined {
  const s = raw.trim();
  if (!s.startsWith('[') || !s.endsWith(']')) return undefined;
  const inner = s.slice(1, -1);
  if (inner.trim() === '') return [];
  const out: unknown[] = [];
  for (const item of inner.split(',')) {
    if (/["'[\]{}:#?]/.test(item)) return undefined;
    const v = simpleScalar(item);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

function simpleValue(raw: string): unknown {
  return raw.trimStart().startsWith('[') ? simpleFlowSequence(raw) : simpleScalar(raw);
}

/**
 * The value of a file that holds only top-level keys, each with a simple
 * scalar, a flow sequence, or one level of block mapping or sequence of
 * simple scalars, with whole-line comments; undefined for any other file,
 * which the yaml library reads. test/unit/yaml-scan.test.ts holds it to the
 * library's answers.
 */
export function scanSimpleYaml(text: string): Record<string, unknown> | undefined {
  if (UNUSUAL.test(text) || /^(?:---|\.\.\.|%)/m.test(text)) return undefined;
  const out: Record<string, unknown> = {};
  let block: { key: string; indent?: number; kind?: 'map' | 'seq' } | undefined;
  const close = (): boolean => {
    // A key with nothing below it is null, as the library reads it.
    if (block && block.kind === undefined) out[block.key] = null;
    block = undefined;
    return true;
  };
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (line.includes(' #') || line.trimEnd() !== line) return undefined;
    const top = TOP_KEY.exec(line);
    if (top) {
      close();
      const key = simpleKey(top[1]);
      if (key === undefined || key in out) return undefined;
      if (top[2] === undefined || top[2] === '') {
        block = { key };
        continue;
      }
      const v = simpleValue(top[2]);
      if (v === undefined) return undefined;
      out[key] = v;
      continue;
    }
    if (!block) return undefined;
    const item = ITEM.exec(line);
    const nested = item ? undefined : NESTED_KEY.exec(line);
    const indent = item ? item[1].length : nested ? nested[1].length : -1;
    const kind = item ? 'seq' : nested ? 'map' : undefined;
    if (!kind || (block.kind !== undefined && (block.kind !== kind || block.indent !== indent)) || (kind === 'map' && indent === 0)) return undefined;
    if (block.kind === undefined) {
      block.kind = kind;
      block.indent = indent;
      out[block.key] = kind === 'seq' ? [] : {};
    }
    if (item) {
      if (item[2].trimStart().startsWith('[') || item[2].includes(': ')) return undefined;
      const v = simpleScalar(item[2]);
      if (v === undefined) return undefined;
      (out[block.key] as unknown[]).push(v);
    } else {
      const key = simpleKey(nested![2]);
      const map = out[block.key] as Record<string, unknown>;
      if (key === undefined || key in map || nested![3] === undefined || nested![3] === '') return undefined;
      const v = simpleValue(nested![3]);
      if (v === undefined) return undefined;
      map[key] = v;
    }
  }
  close();
  return out;
}
