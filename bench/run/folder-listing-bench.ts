/**
 * A folder input's cost before and after the run: the walk that lists it (its state and its
 * numbering, spilled to $TMPDIR) and reading the records back, for a folder of `files` empty
 * files in 100 subfolders, made under $TMPDIR and removed at the end.
 * Usage: node --import tsx bench/run/folder-listing-bench.ts [files=100000] [reps=3] > result.json
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileSource } from '../../src/run/sources/index.js';

const files = Number(process.argv[2] ?? 100_000);
const reps = Number(process.argv[3] ?? 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-folder-bench-'));
try {
  const perFolder = Math.ceil(files / 100);
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `d${String(Math.floor(i / perFolder)).padStart(3, '0')}`);
    if (i % perFolder === 0) fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, `page-${String(i).padStart(7, '0')}.png`), '');
  }
  const runs = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const source = await FileSource.directory(dir);
    const t1 = performance.now();
    let n = 0;
    for await (const batch of source.recordBatches()) n += batch.length;
    const t2 = performance.now();
    if (n !== files) throw new Error(`read ${n} records of ${files}`);
    runs.push({ listingMs: Math.round(t1 - t0), recordsMs: Math.round(t2 - t1), rssMB: Math.round(process.memoryUsage().rss / 1e6) });
    process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
  }
  process.stdout.write(`${JSON.stringify({ files, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, runs }, null, 2)}\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
