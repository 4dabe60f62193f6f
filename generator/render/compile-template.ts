// A compiler for the small part of Handlebars that templates/*.hbs use, into
// plain JavaScript: string concatenation, direct property reads, partials
// inlined. Handlebars' runtime (a helper call per block, a wrapper per
// partial, a checked lookup per name, a frame per iteration) cost more than
// the strings themselves when rendering 1,000 rules files; this does the same
// work without it. The output equals Handlebars' (options noEscape, strict,
// knownHelpersOnly with each and if) byte for byte: test/unit/compile-template
// renders every fixture both ways.
//
// The subset: {{path}} where path is name, a.b, ../name, this or @key;
// {{#if path}} and {{#each path}}, each with an optional {{else}}; {{> name}};
// \{{ for a literal {{. Anything else ({{! }}, {{{ }}}, ~, helpers, block
// params, hashes, {{else if}}, {{^}}, ...) is refused with file:line.
//
// Lookups are strict: a name missing from its object throws (with the
// template's file:line), as Handlebars' strict mode does for {{name}}; this
// is stricter for the argument of #if and #each, which Handlebars reads
// without the check. Values that are functions are not called (the views are
// data).

/** A template as Handlebars parses it, after the whitespace rules. */
type Node = Content | Mustache | Block | Partial;
interface Content {
  type: 'content';
  original: string;
  value: string;
  rightStripped?: boolean;
  leftStripped?: boolean;
}
interface Path {
  /** How many ../ */
  depth: number;
  /** [] for this */
  parts: string[];
  data: boolean;
  text: string;
}
interface Mustache {
  type: 'mustache';
  path: Path;
  loc: string;
}
interface Block {
  type: 'block';
  helper: 'if' | 'each';
  path: Path;
  program: Node[];
  inverse?: Node[];
  loc: string;
}
interface Partial {
  type: 'partial';
  name: string;
  indent: string;
  loc: string;
}

export class TemplateSyntaxError extends Error {}

function fail(loc: string, message: string): never {
  throw new TemplateSyntaxError(`${loc}: ${message}`);
}

/** The tokens of Handlebars' lexer for this subset: content (with its \{{ escapes) and mustaches. */
function lex(file: string, text: string): Array<{ kind: 'content'; text: string } | { kind: 'mustache'; inner: string; loc: string }> {
  const out: Array<{ kind: 'content'; text: string } | { kind: 'mustache'; inner: string; loc: string }> = [];
  const lineAt = (pos: number) => {
    let n = 1;
    for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) n++;
    return n;
  };
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    if (open < 0) {
      out.push({ kind: 'content', text: text.slice(pos) });
      break;
    }
    let content = text.slice(pos, open);
    // As Handlebars' lexer: \\{{ is a backslash and a mustache, \{{ starts
    // literal text that runs to the next {{, \{{ or \\{{ (at least 2 chars).
    if (content.endsWith('\\\\')) content = content.slice(0, -1);
    else if (content.endsWith('\\')) {
      content = content.slice(0, -1);
      if (content) out.push({ kind: 'content', text: content });
      let end = open + 2;
      while (end < text.length && !text.startsWith('{{', end) && !text.startsWith('\\{{', end) && !text.startsWith('\\\\{{', end)) end++;
      out.push({ kind: 'content', text: text.slice(open, end) });
      pos = end;
      continue;
    }
    if (content) out.push({ kind: 'content', text: content });
    const loc = `${file}:${lineAt(open)}`;
    const close = text.indexOf('}}', open + 2);
    if (close < 0) fail(loc, 'unclosed {{');
    const inner = text.slice(open + 2, close);
    if (/[{}~]/.test(inner) || text[close + 2] === '}') fail(loc, `{{${inner}}}: only {{name}}, {{#if}}, {{#each}}, {{else}}, {{/…}} and {{> partial}} are compiled (no {{{ }}}, ~ or raw blocks)`);
    out.push({ kind: 'mustache', inner: inner.trim(), loc });
    pos = close + 2;
  }
  return out;
}

const NAME = /^[A-Za-z_$][\w$-]*$/;
// Names Handlebars takes for its built-in helpers in {{name}}.
const HELPERS = new Set(['each', 'if', 'unless', 'with', 'log', 'lookup', 'helperMissing', 'blockHelperMissing']);

function parsePath(text: string, loc: string): Path {
  if (text === 'this') return { depth: 0, parts: [], data: false, text };
  if (text === '@key') return { depth: 0, parts: ['key'], data: true, text };
  let rest = text;
  let depth = 0;
  while (rest.startsWith('../')) {
    depth++;
    rest = rest.slice(3);
  }
  const parts = rest.split('.');
  if (!parts.every((p) => NAME.test(p) && p !== 'this') || (depth === 0 && parts.length === 1 && HELPERS.has(parts[0]))) fail(loc, `{{${text}}}: only name, a.b, ../name, this and @key are compiled`);
  return { depth, parts, data: false, text };
}

/** Handlebars' parser for the subset: a tree of programs (arrays of nodes). */
function parse(file: string, text: string): Node[] {
  const root: Node[] = [];
  const stack: Array<{ block: Block; body: Node[] }> = [];
  let body = root;
  for (const t of lex(file, text)) {
    if (t.kind === 'content') {
      body.push({ type: 'content', original: t.text, value: t.text });
      continue;
    }
    const { inner, loc } = t;
    let m: RegExpMatchArray | null;
    if ((m = /^#(if|each)\s+(\S+)$/.exec(inner))) {
      const block: Block = { type: 'block', helper: m[1] as 'if' | 'each', path: parsePath(m[2], loc), program: [], loc };
      body.push(block);
      stack.push({ block, body });
      body = block.program;
    } else if (inner === 'else') {
      const top = stack.at(-1);
      if (!top || top.block.inverse) fail(loc, '{{else}} outside an {{#if}} or {{#each}}, or a second one');
      top.block.inverse = [];
      body = top.block.inverse;
    } else if ((m = /^\/\s*(\S+)$/.exec(inner))) {
      const top = stack.pop();
      if (!top || top.block.helper !== m[1]) fail(loc, `{{/${m[1]}}} does not close ${top ? `{{#${top.block.helper}}} of ${top.block.loc}` : 'a block'}`);
      body = top.body;
    } else if ((m = /^>\s*([\w.-]+)$/.exec(inner))) {
      body.push({ type: 'partial', name: m[1], indent: '', loc });
    } else if (/^[\w.@/$-]+$/.test(inner) && !/^(else|if|each)$/.test(inner)) {
      body.push({ type: 'mustache', path: parsePath(inner, loc), loc });
    } else {
      fail(loc, `{{${inner}}}: not in the subset of Handlebars mkimages compiles (name, #if, #each, else, > partial)`);
    }
  }
  const open = stack.pop();
  if (open) fail(open.block.loc, `{{#${open.block.helper}}} is not closed`);
  return root;
}

// Handlebars' WhitespaceControl (compiler/whitespace-control.js, 4.7), for
// nodes without ~: standalone blocks, {{else}} and partials lose their line.

function isPrevWhitespace(body: Node[], i: number | undefined, isRoot: boolean | undefined): boolean | undefined {
  if (i === undefined) i = body.length;
  const prev = body[i - 1];
  const sibling = body[i - 2];
  if (!prev) return isRoot;
  if (prev.type === 'content') return (sibling || !isRoot ? /\r?\n\s*?$/ : /(^|\r?\n)\s*?$/).test(prev.original);
  return undefined;
}

function isNextWhitespace(body: Node[], i: number | undefined, isRoot: boolean | undefined): boolean | undefined {
  if (i === undefined) i = -1;
  const next = body[i + 1];
  const sibling = body[i + 2];
  if (!next) return isRoot;
  if (next.type === 'content') return (sibling || !isRoot ? /^\s*?\r?\n/ : /^\s*?(\r?\n|$)/).test(next.original);
  return undefined;
}

function omitRight(body: Node[], i?: number): void {
  const current = body[i === undefined ? 0 : i + 1];
  if (!current || current.type !== 'content' || current.rightStripped) return;
  const original = current.value;
  current.value = current.value.replace(/^[ \t]*\r?\n?/, '');
  current.rightStripped = current.value !== original;
}

function omitLeft(body: Node[], i?: number): boolean | undefined {
  const current = body[i === undefined ? body.length - 1 : i - 1];
  if (!current || current.type !== 'content' || current.leftStripped) return undefined;
  const original = current.value;
  current.value = current.value.replace(/[ \t]+$/, '');
  current.leftStripped = current.value !== original;
  return current.leftStripped;
}

interface Strip {
  openStandalone?: boolean;
  closeStandalone?: boolean;
  inlineStandalone?: boolean;
}

function stripBlock(block: Block): Strip {
  stripProgram(block.program, false);
  if (block.inverse) stripProgram(block.inverse, false);
  const program = block.program;
  const inverse = block.inverse;
  const strip = { openStandalone: !!isNextWhitespace(program, undefined, undefined), closeStandalone: !!isPrevWhitespace(inverse ?? program, undefined, undefined) };
  if (inverse && isPrevWhitespace(program, undefined, undefined) && isNextWhitespace(inverse, undefined, undefined)) {
    omitLeft(program);
    omitRight(inverse);
  }
  return strip;
}

function stripProgram(body: Node[], isRoot: boolean): void {
  for (let i = 0; i < body.length; i++) {
    const current = body[i];
    let strip: Strip;
    if (current.type === 'block') strip = stripBlock(current);
    else if (current.type === 'partial') strip = { inlineStandalone: true };
    else continue;
    const prevWs = isPrevWhitespace(body, i, isRoot);
    const nextWs = isNextWhitespace(body, i, isRoot);
    if (strip.inlineStandalone && prevWs && nextWs) {
      omitRight(body, i);
      if (omitLeft(body, i) && current.type === 'partial') current.indent = /([ \t]+$)/.exec((body[i - 1] as Content).original)![1];
    }
    if (current.type === 'block') {
      if (strip.openStandalone && prevWs) {
        omitRight(current.program);
        omitLeft(body, i);
      }
      if (strip.closeStandalone && nextWs) {
        omitRight(body, i);
        omitLeft(current.inverse ?? current.program);
      }
    }
  }
}

/** A template's nodes as Handlebars leaves them after its whitespace rules. */
export function parseTemplate(file: string, text: string): Node[] {
  const body = parse(file, text);
  stripProgram(body, true);
  return body;
}

// Code generation. A scope is the context a name is read from: c0 at the top,
// c1... in nested #each; k1... their keys (@key).

interface Scope {
  context: string;
  key?: string;
}

class Emitter {
  private lines: string[] = [];
  private counter = 0;
  constructor(private readonly partials: Map<string, { file: string; nodes: Node[] }>) {}

  code(): string {
    return this.lines.join('\n');
  }

  private value(path: Path, scopes: Scope[], loc: string): string {
    const at = scopes.length - 1 - path.depth;
    if (at < 0) fail(loc, `{{${path.text}}} goes above the top context`);
    const q = JSON.stringify;
    if (path.data) {
      const key = [...scopes].reverse().find((s) => s.key)?.key;
      if (!key) fail(loc, '{{@key}} outside an {{#each}}');
      return key;
    }
    const c = scopes[at].context;
    if (path.parts.length === 0) return c;
    if (path.parts.length === 1) {
      const p = path.parts[0];
      return `(${q(p)} in ${c} ? ${c}[${q(p)}] : $miss(${c}, ${q(p)}, ${q(loc)}))`;
    }
    return `$path(${c}, ${q(path.parts)}, ${q(loc)})`;
  }

  /** Appends the code of nodes to `o`, at the given indentation. */
  emit(nodes: Node[], scopes: Scope[], pad: string, inlining: string[]): void {
    const q = JSON.stringify;
    // Runs of text and values become one `o += a + b + ...`.
    let run: string[] = [];
    const flush = () => {
      if (run.length) this.lines.push(`${pad}o += ${run.join(' + ')};`);
      run = [];
    };
    for (const n of nodes) {
      if (n.type === 'content') {
        if (n.value) run.push(q(n.value));
      } else if (n.type === 'mustache') {
        run.push(`(${this.value(n.path, scopes, n.loc)} ?? "")`);
      } else if (n.type === 'partial') {
        flush();
        const p = this.partials.get(n.name);
        if (!p) fail(n.loc, `{{> ${n.name}}}: no such partial`);
        if (inlining.includes(n.name)) fail(n.loc, `{{> ${n.name}}}: a partial that includes itself`);
        if (n.indent) {
          // Handlebars indents every line of a standalone partial's output.
          this.lines.push(`${pad}{ const $outer = o; o = "";`);
          this.emit(p.nodes, scopes, `${pad}  `, [...inlining, n.name]);
          this.lines.push(`${pad}  o = $outer + $indent(o, ${q(n.indent)}); }`);
        } else {
          this.emit(p.nodes, scopes, pad, [...inlining, n.name]);
        }
      } else {
        flush();
        const v = this.value(n.path, scopes, n.loc);
        if (n.helper === 'if') {
          this.lines.push(`${pad}if ($truthy(${v})) {`);
          this.emit(n.program, scopes, `${pad}  `, inlining);
          if (n.inverse?.length) {
            this.lines.push(`${pad}} else {`);
            this.emit(n.inverse, scopes, `${pad}  `, inlining);
          }
          this.lines.push(`${pad}}`);
        } else {
          const d = ++this.counter;
          this.lines.push(`${pad}{`);
          this.lines.push(`${pad}  const x${d} = ${v}, a${d} = $list(x${d}), ks${d} = a${d} === x${d} ? null : $keys(x${d});`);
          this.lines.push(`${pad}  for (let i${d} = 0; i${d} < a${d}.length; i${d}++) {`);
          this.lines.push(`${pad}    if (!(i${d} in a${d})) continue;`);
          this.lines.push(`${pad}    const c${d} = a${d}[i${d}]; const k${d} = ks${d} ? ks${d}[i${d}] : i${d};`);
          this.emit(n.program, [...scopes, { context: `c${d}`, key: `k${d}` }], `${pad}    `, inlining);
          this.lines.push(`${pad}  }`);
          if (n.inverse?.length) {
            this.lines.push(`${pad}  if (a${d}.length === 0) {`);
            this.emit(n.inverse, scopes, `${pad}    `, inlining);
            this.lines.push(`${pad}  }`);
          }
          this.lines.push(`${pad}}`);
        }
      }
    }
    flush();
  }
}

/**
 * The helpers the compiled code calls, as source: it is written into
 * dist/templates.cjs with the templates.
 */
const RUNTIME = String.raw`
function $miss(obj, name, loc) {
  if (obj !== null && (typeof obj === 'object' || typeof obj === 'function') && name in obj) return obj[name];
  throw new Error(loc + ': "' + name + '" not defined in ' + obj);
}
function $path(obj, parts, loc) {
  for (const p of parts) obj = $miss(obj, p, loc);
  return obj;
}
// #if: what Handlebars' if helper counts as true (0 and [] are not).
function $truthy(v) {
  return Array.isArray(v) ? v.length !== 0 : !!v;
}
// #each: the items as Handlebars' each helper visits them (arrays, iterables, an object's values).
function $list(v) {
  if (Array.isArray(v)) return v;
  if (v === null || typeof v !== 'object') return [];
  if (typeof v[Symbol.iterator] === 'function') return Array.from(v);
  return Object.keys(v).map((k) => v[k]);
}
function $keys(v) {
  return v !== null && typeof v === 'object' && typeof v[Symbol.iterator] !== 'function' ? Object.keys(v) : null;
}
function $indent(text, indent) {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i] && i + 1 === lines.length) break;
    lines[i] = indent + lines[i];
  }
  return lines.join('\n');
}
`;

export interface TemplateSources {
  /** file name → text, of every template and partial */
  files: Record<string, string>;
  /** the entry points: export name → file */
  templates: Record<string, string>;
  /** the partial files; {{> name}} is the file without .mk.hbs / .hbs */
  partials: string[];
  /** Handlebars' options (templates.json): only those the compiled code implements are taken */
  options?: Record<string, unknown>;
}

/** The output is Handlebars' with these options, and no other. */
function checkOptions(options: Record<string, unknown> | undefined): void {
  if (options === undefined) return;
  const { noEscape, strict, knownHelpersOnly, knownHelpers, ...rest } = options;
  const helpers = Object.entries((knownHelpers ?? {}) as Record<string, unknown>);
  if (noEscape !== true || strict !== true || knownHelpersOnly !== true || Object.keys(rest).length > 0 || helpers.some(([k, v]) => v && k !== 'each' && k !== 'if')) {
    throw new TemplateSyntaxError(`templates.json: options ${JSON.stringify(options)}: the compiled templates implement noEscape, strict and knownHelpersOnly (each, if) only`);
  }
}

/**
 * The templates as the body of a CommonJS module: `exports.<name> =
 * function (context) { ... }` for each entry, with the helpers it needs.
 * Throws TemplateSyntaxError (file:line: ...) for anything outside the subset.
 */
export function compileTemplatesToSource(sources: TemplateSources): string {
  checkOptions(sources.options);
  const partials = new Map<string, { file: string; nodes: Node[] }>();
  for (const file of sources.partials) partials.set(file.replace(/(\.mk)?\.hbs$/, ''), { file, nodes: parseTemplate(file, sources.files[file]) });
  const out = ['"use strict";', RUNTIME.trim()];
  for (const [name, file] of Object.entries(sources.templates)) {
    const e = new Emitter(partials);
    e.emit(parseTemplate(file, sources.files[file]), [{ context: 'c0' }], '  ', []);
    out.push(`exports[${JSON.stringify(name)}] = function ${name.replace(/\W/g, '_')}(c0) {\n  let o = "";\n${e.code()}\n  return o;\n};`);
  }
  return `${out.join('\n')}\n`;
}

/** compileTemplatesToSource, evaluated here (when dist/templates.cjs is missing or stale). */
export function compileTemplates(sources: TemplateSources): Record<string, (context: unknown) => string> {
  const exports: Record<string, (context: unknown) => string> = {};
  new Function('exports', compileTemplatesToSource(sources))(exports);
  return exports;
}
