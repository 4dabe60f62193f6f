// VERSION and ALIAS: a file holding one value on one line.

import { Diagnostics, shown } from '../diagnostics.js';
import { REPOSITORY_PATH, TAG_RE } from './grammar.js';
import { decodeText } from './text.js';

export interface LineValue {
  value: string;
  line: number;
}

function readOneLine(file: string, bytes: Buffer, what: string, diags: Diagnostics): LineValue | undefined {
  const text = decodeText(file, bytes, diags);
  if (text === undefined) return undefined;
  const lines = text
    .split('\n')
    .map((t, i) => ({ number: i + 1, text: t.replace(/\r$/, '').trim() }))
    .filter((l) => l.text !== '');
  if (lines.length === 0) {
    diags.error(file, 1, `is empty, expected one line holding ${what}, found nothing`);
    return undefined;
  }
  if (lines.length > 1) {
    diags.error(file, lines[1].number, `has several lines, expected one line holding ${what}, found ${lines.length} lines`);
    return undefined;
  }
  return { value: lines[0].text, line: lines[0].number };
}

export function parseVersion(file: string, bytes: Buffer, diags: Diagnostics): LineValue | undefined {
  const v = readOneLine(file, bytes, 'the image tag', diags);
  if (!v) return undefined;
  if (!TAG_RE.test(v.value)) {
    diags.error(
      file,
      v.line,
      `invalid tag, expected at most 128 letters, digits, "_", "." or "-" not starting with "." or "-", found ${shown(v.value)}`,
    );
    return undefined;
  }
  return v;
}

export function parseAlias(file: string, bytes: Buffer, diags: Diagnostics): LineValue | undefined {
  const v = readOneLine(file, bytes, 'the published image name', diags);
  if (!v) return undefined;
  if (!REPOSITORY_PATH.test(v.value) || v.value.length > 255) {
    diags.error(
      file,
      v.line,
      `invalid repository name, expected lowercase [a-z0-9] components joined by ".", "_", "__" or "-", separated by "/", found ${shown(v.value)}`,
    );
    return undefined;
  }
  return v;
}

