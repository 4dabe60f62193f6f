// The one place where text from the tree is made safe for make and sh.
// Names, tags and references are validated against Docker's grammars and
// carry no special character; free-form values (build args, labels) go
// through `makeShellWord`.

/** Single-quote for POSIX sh: nothing inside is expanded. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Escape text for the right-hand side of a `:=` assignment: `$` would start
 * a make reference and `#` a comment. `$(MK_HASH)` expands to `#` once, at
 * definition time.
 */
export function makeLiteral(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`bug: a line break reached the Makefile renderer: ${JSON.stringify(value)}`);
  return value.replace(/\$/g, '$$$$').replace(/#/g, '$(MK_HASH)');
}

/** A shell word holding `value` literally, for a `:=` assignment. */
export function makeShellWord(value: string): string {
  return makeLiteral(shellQuote(value));
}

/** `tools/lister` → a Mermaid node id. */
export function mermaidId(name: string): string {
  return `img_${name.replace(/[^a-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`)}`;
}
