// Regenerates docs/errors.md from the registry: `node --import tsx scripts/write-error-docs.ts`.
import fs from 'node:fs';
import { ERROR_CODES } from '../src/errors/index.js';

let s = "# Error codes\n\nEvery error gpupool raises on purpose has one of these codes. The CLI prints `gpupool: CODE: message` and a remedy, and exits with the code's exit status; the HTTP API answers `{statusCode, code, error, message}` with the code's status. Messages name the bad value and what is allowed.\n\n| code | exit | HTTP | remedy |\n|---|---|---|---|\n";
for (const [k, v] of Object.entries(ERROR_CODES)) s += `| \`${k}\` | ${v.exitCode} | ${v.httpStatus} | ${v.remedy} |\n`;
s += '\nExit status 0 means every item succeeded; 1 means the run finished but some items failed (their lines in the output say why); 130 means it was interrupted (run the same command again to resume).\n';
fs.writeFileSync('docs/errors.md', s);
