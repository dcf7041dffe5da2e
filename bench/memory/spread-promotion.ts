/**
 * Why `decodeWorkerMessage` no longer spreads the parsed header: on Node 20 (V8 11.3) the copies
 * made by `{ ...parsed, more }` are promoted to the old generation even though the loop keeps
 * none of them. Each variant runs in its own Node with a 16 MB young generation (as the CLI
 * holds it) and `--trace-gc-nvp`; the bytes promoted by scavenges are summed.
 * Usage: node --import tsx bench/memory/spread-promotion.ts [iterations=3000000] [--out FILE]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const LOOP = `
const [variant, n] = [process.argv[1], Number(process.argv[2])];
let sink = 0;
const t = performance.now();
for (let i = 0; i < n; i++) {
  const parsed = variant === 'literal-spread' ? { type: 'result_array', id: i, count: 256 } : JSON.parse('{"type":"result_array","id":' + i + ',"count":256}');
  const outputs = { n: i };
  let message;
  if (variant === 'assign') { parsed.type = 'result_lines'; parsed.outputs = outputs; message = parsed; }
  else message = { ...parsed, type: 'result_lines', outputs };
  sink += message.outputs.n & 1;
  sink += new Array(20).fill(i).length; // other short-lived garbage, as a real loop makes
}
console.log('ms=' + (performance.now() - t).toFixed(0) + ' sink=' + sink);
`;

const iterations = Number(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 3_000_000);
const outIndex = process.argv.indexOf('--out');
const results = [];
for (const variant of ['parsed-spread', 'literal-spread', 'assign']) {
  const trace = execFileSync(process.execPath, ['--max-semi-space-size=8', '--trace-gc-nvp', '-e', LOOP, variant, String(iterations)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  let promoted = 0;
  let scavenges = 0;
  let fullGcs = 0;
  for (const line of trace.split('\n')) {
    const gc = /\bgc=(\w+)/.exec(line)?.[1];
    if (gc === 's') {
      scavenges++;
      promoted += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
    } else if (gc !== undefined) fullGcs++;
  }
  const ms = Number(/ms=(\d+)/.exec(trace)?.[1]);
  results.push({ variant, iterations, ms, scavenges, full_gcs: fullGcs, promoted_mb: +(promoted / 1e6).toFixed(1) });
  console.log(JSON.stringify(results.at(-1)));
}
if (outIndex > 0) fs.writeFileSync(process.argv[outIndex + 1], JSON.stringify({ command: `node --import tsx bench/memory/spread-promotion.ts ${iterations}`, node: process.version, results }, null, 1) + '\n');
