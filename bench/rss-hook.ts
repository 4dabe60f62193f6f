// Loaded with `node --import <this> dist/generator/cli.js ...` when
// /usr/bin/time is missing: writes the process's peak RSS (KiB, like
// `time -f %M`) and its user and system CPU seconds (like `%U %S`) to
// $MKBENCH_RSS_FILE when it exits.

import { writeFileSync } from 'node:fs';

const file = process.env.MKBENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, `${u.maxRSS} ${u.userCPUTime / 1e6} ${u.systemCPUTime / 1e6}\n`);
  });
}
