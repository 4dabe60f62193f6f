// generator/render/compile-template.ts against Handlebars itself: the same
// output for every fixture (and the project's own images/), for small
// templates that exercise Handlebars' whitespace rules, and refusals (with
// file:line) for what is outside the subset.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { generate } from '../../generator/generate.js';
import { compileTemplates, compileTemplatesToSource } from '../../generator/render/compile-template.js';
import { renderMakefile } from '../../generator/render/makefile.js';
import { loadTemplates, readTemplateSources } from '../../generator/templates.js';
import { PROJECT_ROOT } from '../support/tree.js';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures');
const OPTIONS = readTemplateSources().config.options as Parameters<typeof Handlebars.compile>[1];

describe('the compiled templates render what Handlebars renders', () => {
  const { sources } = readTemplateSources();
  const ours = compileTemplates(sources);
  const compiled = { main: ours.main, rules: ours.rules, script: '' };
  const handlebars = { ...loadTemplates(false), script: '' };
  const trees = readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(FIXTURES, d.name))
    .sort();
  trees.push(PROJECT_ROOT);

  it.each(trees)('%s', (root) => {
    const result = generate(root, { imagesDir: existsSync(join(root, 'images')) ? 'images' : 'test/images' });
    expect(result.model).toBeDefined();
    const a = renderMakefile(result.model!, compiled);
    const b = renderMakefile(result.model!, handlebars);
    expect(a.main).toBe(b.main);
    expect(a.rules.names).toEqual(b.rules.names);
    expect(a.rules.names.length).toBeGreaterThan(0);
    for (const n of a.rules.names) expect(a.rules.content(n), n).toBe(b.rules.content(n));
  });

  it('dist/templates.cjs is what the build compiles now', () => {
    expect(loadTemplates().rules).not.toBe(handlebars.rules);
    expect(loadTemplates().rules.toString()).toBe(ours.rules.toString());
  });
});

/** Renders `main` (with the partials) both ways. */
function both(files: Record<string, string>, context: unknown): [string, string] {
  const partials = Object.keys(files).filter((f) => f !== 'main.hbs');
  const ours = compileTemplates({ files, templates: { main: 'main.hbs' }, partials }).main(context);
  const hb = Handlebars.create();
  for (const p of partials) hb.registerPartial(p.replace(/\.hbs$/, ''), files[p]);
  return [ours, hb.compile(files['main.hbs'], OPTIONS)(context)];
}

describe('Handlebars semantics', () => {
  const context = {
    name: 'n',
    yes: true,
    no: false,
    zero: 0,
    none: [],
    list: [{ name: 'a', key: 'x', sub: [{ name: 's1' }, { name: 's2' }] }, { name: 'b', key: '', sub: [] }],
    words: ['w1', 'w2'],
    map: { k1: 'v1', k2: 'v2' },
    deep: { a: { b: 'ab' } },
    undef: undefined,
    nul: null,
    num: 3,
  };
  const cases: Record<string, Record<string, string>> = {
    'standalone blocks': { 'main.hbs': 'a\n{{#if yes}}\nin\n{{else}}\nout\n{{/if}}\nb\n  {{#each words}}  \n- {{this}}\n  {{/each}}\nend' },
    'blocks at the start and end': { 'main.hbs': '{{#if yes}}\nx\n{{/if}}' },
    'blocks not alone on their line': { 'main.hbs': 'a {{#if yes}}\nx\n{{/if}} b\n{{#if no}}y{{else}}z{{/if}}\n' },
    'empty blocks': { 'main.hbs': '{{#if yes}}{{/if}}\n{{#each none}}\n{{/each}}\n{{#each none}}x{{else}}\nempty\n{{/each}}\n' },
    'truthiness': { 'main.hbs': '{{#if zero}}0{{/if}}{{#if none}}[]{{/if}}{{#if num}}3{{/if}}{{#if nul}}null{{/if}}{{#if undef}}u{{/if}}{{#if words}}w{{/if}}{{#if list.length}}l{{/if}}\n' },
    'each over objects and nested scopes': {
      'main.hbs': '{{#each map}}\n{{@key}}={{this}} of {{../name}}\n{{/each}}\n{{#each list}}\n{{name}}:{{#each sub}} {{name}}/{{../name}}/{{@key}}{{/each}}\n{{#if key}}\n  key {{key}} {{../name}} {{@key}}\n{{/if}}\n{{/each}}\n',
    },
    'values': { 'main.hbs': '{{name}} {{num}} {{yes}} {{no}} {{undef}}|{{nul}}|{{words}} {{deep.a.b}} <&"\'>{{map}}\n' },
    'partials, standalone and inline, with indentation': {
      'main.hbs': 'top\n{{> p}}\n  {{> p}}\n\t{{> q}}\nx {{> q}} y\n{{#each list}}\n    {{> p}}\n{{/each}}\n{{> p}}',
      'p.hbs': 'p {{name}}\n{{#if name}}\n  py\n{{/if}}\n',
      'q.hbs': 'q1\nq2',
    },
    'escaped mustaches': { 'main.hbs': "a \\{{x}} b {{name}} c '\\{{.A}}:\\{{.B}}' d\n{{#if yes}}\ne \\\\{{name}} \\{{f}}\n{{/if}}\n" },
    'whitespace inside mustaches and CRLF': { 'main.hbs': '{{ name }}\r\n{{#if  yes }}\r\nx\r\n{{/if}}\r\n' },
  };
  it.each(Object.entries(cases))('%s', (_, files) => {
    const [ours, hb] = both(files, context);
    expect(ours).toBe(hb);
  });

  it('a missing name is an error, with the file and line', () => {
    expect(() => both({ 'main.hbs': 'a\n{{nope}}' }, context)).toThrow(/main\.hbs:2: "nope" not defined/);
    expect(() => both({ 'main.hbs': '{{#each list}}\n{{nope}}{{/each}}' }, context)).toThrow(/main\.hbs:2: "nope" not defined/);
    expect(() => both({ 'main.hbs': '{{deep.x.b}}' }, context)).toThrow(/main\.hbs:1: "x" not defined/);
    // Stricter than Handlebars: the argument of #if and #each too.
    expect(() => compileTemplates({ files: { 'm.hbs': '\n{{#if nope}}x{{/if}}' }, templates: { main: 'm.hbs' }, partials: [] }).main(context)).toThrow(/m\.hbs:2: "nope" not defined/);
  });

  it('refuses what is outside the subset, with the file and line', () => {
    const refuse = (text: string, re: RegExp) => expect(() => compileTemplatesToSource({ files: { 't.mk.hbs': text }, templates: { main: 't.mk.hbs' }, partials: [] }), text).toThrow(re);
    refuse('a\n{{{name}}}', /t\.mk\.hbs:2: /);
    refuse('{{~name}}', /t\.mk\.hbs:1: /);
    refuse('{{! comment }}', /t\.mk\.hbs:1: /);
    refuse('{{#unless x}}{{/unless}}', /t\.mk\.hbs:1: /);
    refuse('{{#each x as |y|}}{{/each}}', /t\.mk\.hbs:1: /);
    refuse('{{#if x}}{{else if y}}{{/if}}', /t\.mk\.hbs:1: /);
    refuse('{{#if x}}{{^}}{{/if}}', /t\.mk\.hbs:1: /);
    refuse('{{helper x}}', /t\.mk\.hbs:1: /);
    refuse('{{lookup}}', /t\.mk\.hbs:1: /);
    refuse('{{@index}}', /t\.mk\.hbs:1: /);
    refuse('{{this.name}}', /t\.mk\.hbs:1: /);
    refuse('{{> p x}}', /t\.mk\.hbs:1: /);
    refuse('\n\n{{> nope}}', /t\.mk\.hbs:3: .*no such partial/);
    refuse('{{#if x}}\n{{/each}}', /t\.mk\.hbs:2: /);
    refuse('{{#if x}}\n', /t\.mk\.hbs:1: .*not closed/);
    refuse('x\n{{../name}}', /t\.mk\.hbs:2: .*above the top/);
    refuse('{{@key}}', /t\.mk\.hbs:1: .*outside an \{\{#each/);
  });
});

describe('options', () => {
  it('compiles only for the options it implements (templates.json)', () => {
    const files = { 'm.hbs': '{{x}}' };
    const options = OPTIONS as Record<string, unknown>;
    expect(() => compileTemplatesToSource({ files, templates: { main: 'm.hbs' }, partials: [], options })).not.toThrow();
    expect(() => compileTemplatesToSource({ files, templates: { main: 'm.hbs' }, partials: [], options: { ...options, noEscape: false } })).toThrow(/templates\.json: options/);
    expect(() => compileTemplatesToSource({ files, templates: { main: 'm.hbs' }, partials: [], options: { ...options, knownHelpers: { each: true, if: true, with: true } } })).toThrow(/templates\.json: options/);
  });
});
