#!/usr/bin/env node
// Run after `npm install` changes package-lock.json.
//
// npm 11 leaves out of the lock file the optional native packages of other
// platforms (@rollup/rollup-darwin-arm64, …) when the registry it talks to
// does not carry them, and `npm ci` then refuses the lock as "out of sync".
// This adds an entry for each such package with its os/cpu/libc, so `npm ci`
// accepts the lock and, as for any optional package of another platform,
// skips it. Entries npm wrote itself are left untouched.

import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
const PLATFORM = /(?:^|-)(android|darwin|freebsd|linux|netbsd|openbsd|openharmony|sunos|aix|win32)-([a-z0-9]+)(?:-(gnu|gnueabihf|musl|musleabihf|msvc|eabi))?$/;
const added = [];
for (const info of Object.values(packages)) {
  for (const [dep, version] of Object.entries(info.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (packages[key]) continue;
    const m = PLATFORM.exec(dep.split('/').pop());
    if (!m) continue; // not a per-platform package: leave it to npm
    const entry = { version, cpu: [m[2]] };
    if (info.dev) entry.dev = true;
    if (m[3]?.startsWith('gnu')) entry.libc = ['glibc'];
    if (m[3]?.startsWith('musl')) entry.libc = ['musl'];
    entry.optional = true;
    entry.os = [m[1]];
    packages[key] = entry;
    added.push(dep);
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `complete-lockfile: added ${added.length} platform package(s): ${added.join(', ')}` : 'complete-lockfile: nothing to add');
