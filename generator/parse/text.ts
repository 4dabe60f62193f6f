// Line-based files (BASEIMAGE, VERSION, ALIAS) as the user wrote them:
// CRLF and trailing blank lines are accepted, bytes that are not text are not.

import type { Diagnostics } from '../diagnostics.js';

export interface Line {
  number: number;
  text: string;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decode a file as UTF-8 text. Reports and returns undefined when it holds
 * bytes that are not text (NUL, control characters, invalid UTF-8).
 */
export function decodeText(file: string, bytes: Buffer, diags: Diagnostics): string | undefined {
  // Buffer's decoder is the fast one; it writes U+FFFD where bytes are not
  // UTF-8, and only then (or for a real U+FFFD) is the strict one asked.
  let text = bytes.toString('utf8');
  if (!text.includes('\uFFFD')) {
    if (text.startsWith('\uFEFF')) text = text.slice(1); // as the TextDecoder does
  } else {
    try {
      text = decoder.decode(bytes);
    } catch {
      diags.error(file, firstInvalidUtf8Line(bytes), 'is not text, expected UTF-8 text, found bytes that are not valid UTF-8');
      return undefined;
    }
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const bad = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.exec(text);
  if (bad) {
    const line = text.slice(0, bad.index).split('\n').length;
    const code = bad[0].charCodeAt(0).toString(16).padStart(2, '0');
    diags.error(file, line, `is not text, expected printable characters, found the control byte 0x${code}`);
    return undefined;
  }
  return text;
}

/** The line holding the first bytes that are not UTF-8 (lines split at 0x0a, which UTF-8 never uses inside a character). */
function firstInvalidUtf8Line(bytes: Buffer): number {
  let line = 1;
  for (let start = 0; start <= bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start);
    const stop = end < 0 ? bytes.length : end;
    try {
      decoder.decode(bytes.subarray(start, stop));
    } catch {
      return line;
    }
    start = stop + 1;
  }
  return 1;
}

function splitLines(text: string): Line[] {
  return text.split('\n').map((raw, i) => ({ number: i + 1, text: raw.endsWith('\r') ? raw.slice(0, -1) : raw }));
}

/** Lines that say something: not blank, not a `#` comment. */
export function meaningfulLines(text: string): Line[] {
  return splitLines(text).filter((l) => l.text.trim() !== '' && !l.text.trimStart().startsWith('#'));
}
