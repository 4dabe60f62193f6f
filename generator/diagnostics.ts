// Problems found in the tree are values, collected over the whole run and
// printed sorted, so one run reports every problem. `throw` is for bugs.

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  /** Path relative to the repository root, with forward slashes. */
  file: string;
  /** 1-based line, when one applies. */
  line?: number;
  severity: Severity;
  message: string;
}

export class Diagnostics {
  readonly items: Diagnostic[] = [];

  error(file: string, line: number | undefined, message: string): void {
    this.items.push({ file, line, severity: 'error', message });
  }

  warn(file: string, line: number | undefined, message: string): void {
    this.items.push({ file, line, severity: 'warning', message });
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  sorted(): Diagnostic[] {
    return sortDiagnostics(this.items);
  }
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted by file, line and message; a problem found twice (e.g. once per platform) is printed once. */
function sortDiagnostics(items: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique = items.filter((d) => {
    const key = JSON.stringify([d.file, d.line ?? null, d.severity, d.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort(
    (a, b) =>
      compareStrings(a.file, b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      compareStrings(a.message, b.message),
  );
}

export function formatDiagnostic(d: Diagnostic): string {
  // A file name holding a line break or other control character must not break the one-line format.
  const file = d.file.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
  const where = d.line === undefined ? `${file}:` : `${file}:${d.line}:`;
  const prefix = d.severity === 'warning' ? ' warning:' : '';
  return `${where}${prefix} ${d.message}`;
}

/** Quote a value found in the tree for a message, so odd characters stay visible. */
export function shown(value: string): string {
  return JSON.stringify(value);
}
