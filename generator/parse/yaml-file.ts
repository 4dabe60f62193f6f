// YAML files validated against a JSON Schema kept in schema/. Every problem
// carries the line of the node it is about: yaml's LineCounter gives lines for
// syntax errors and node ranges; ajv's instancePath is mapped back to a node.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { Diagnostics, shown } from '../diagnostics.js';
import { SCHEMA_DIR } from '../paths.js';
import { decodeText } from './text.js';

export interface YamlFile<T> {
  value: T;
  /** Line of the node at a path (`['buildArgs', 'FOO']`), or of its nearest ancestor. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
const compiled = new Map<string, ValidateFunction>();

function schemaValidator(schemaFile: string): ValidateFunction {
  let v = compiled.get(schemaFile);
  if (!v) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, schemaFile), 'utf8')) as Record<string, unknown>;
    delete schema.$schema; // ajv's default meta-schema is draft-07; the keywords used are common to both.
    v = ajv.compile(schema);
    compiled.set(schemaFile, v);
  }
  return v;
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
      return { path, message: `${fieldName(path)} has an invalid key, expected ${e.message ?? 'a valid key'}, found ${shown(String(e.params.propertyName))}` };
    case 'pattern':
      if (e.propertyName !== undefined) {
        return { path: [...path, e.propertyName], message: `invalid key ${shown(e.propertyName)} in ${fieldName(path)}, expected a name matching ${e.params.pattern}` };
      }
      return { path, message: `${fieldName(path)} is invalid, expected a value matching ${e.params.pattern}, found ${found}` };
    case 'uniqueItems':
      return { path: [...path, String(e.params.i)], message: `${fieldName(path)} has a duplicate item, expected each item once, found ${describe(valueAt(root, [...path, String(e.params.i)]))} twice` };
    case 'minItems':
      return { path, message: `${fieldName(path)} is empty, expected at least ${e.params.limit} item(s)` };
    default:
      return { path, message: `${fieldName(path)} ${e.message ?? 'is invalid'}, found ${found}` };
  }
}

export function parseYamlFile<T>(file: string, bytes: Buffer, schemaFile: string, diags: Diagnostics): YamlFile<T> | undefined {
  const text = decodeText(file, bytes, diags);
  if (text === undefined) return undefined;
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const msg = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      const what = err.code === 'DUPLICATE_KEY' ? `duplicate key, expected each key once, found ${msg}` : `YAML syntax error: ${msg}`;
      diags.error(file, lineAt(err.pos[0]), what);
    }
    return undefined;
  }
  const value: unknown = doc.toJS();
  const lineOf = (path: readonly (string | number)[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && node.range) return lineAt(node.range[0]);
      // A null value has no node: point at its key instead.
      if (n > 0) {
        const parent = doc.getIn(path.slice(0, n - 1), true);
        if (isMap(parent)) {
          const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(path[n - 1]));
          if (pair && isScalar(pair.key) && pair.key.range) return lineAt(pair.key.range[0]);
        }
      }
    }
    return undefined;
  };
  if (value === null || value === undefined) return { value: {} as T, lineOf };
  if (typeof value !== 'object' || Array.isArray(value)) {
    diags.error(file, lineOf([]) ?? 1, `the top level is not a mapping, expected keys such as version: or platforms:, found ${describe(value)}`);
    return undefined;
  }
  const validate = schemaValidator(schemaFile);
  if (!validate(value)) {
    const props = Object.keys((validate.schema as { properties?: object }).properties ?? {});
    for (const e of validate.errors ?? []) {
      const { path, message } = explain(e, value, props);
      diags.error(file, lineOf(path), message);
    }
    return undefined;
  }
  return { value: value as T, lineOf };
}
