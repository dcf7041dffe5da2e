/**
 * A folder input's cost before and after the run: the walk that lists it (its state and its
 * numbering, spilled to $TMPDIR), keeping the listing beside the journal (`keepListing`, once per
 * listing state), reading the records back, and, once, matching the kept listing with that of the
 * folder with one file added before the others (`remapFrom`: what a resume by file name costs
 * before its run starts), for a folder of `files` empty files in 100 subfolders, made under
 * $TMPDIR and removed at the end.
 * Usage: node --import tsx bench/run/folder-listing-bench.ts [files=100000] [reps=3] > result.json
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileSource } from '../../src/run/sources/index.js';

const files = Number(process.argv[2] ?? 100_000);
const reps = Number(process.argv[3] ?? 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-folder-bench-'));
const stateRoot = path.join(dir, '.gpupool');
try {
  const perFolder = Math.ceil(files / 100);
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `d${String(Math.floor(i / perFolder)).padStart(3, '0')}`);
    if (i % perFolder === 0) fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, `page-${String(i).padStart(7, '0')}.png`), '');
  }
  const runs = [];
  let formerState = '';
  for (let r = 0; r < reps; r++) {
    const stateDir = path.join(stateRoot, `state-${r}`);
    const t0 = performance.now();
    const source = await FileSource.directory(dir, [stateRoot]);
    const t1 = performance.now();
    source.keepListing(stateDir);
    const t2 = performance.now();
    let n = 0;
    for await (const batch of source.recordBatches()) n += batch.length;
    const t3 = performance.now();
    source.close();
    if (n !== files) throw new Error(`read ${n} records of ${files}`);
    formerState = source.state;
    const keptBytes = fs.readdirSync(stateDir).reduce((sum, name) => sum + fs.statSync(path.join(stateDir, name)).size, 0);
    runs.push({ listingMs: Math.round(t1 - t0), keepListingMs: Math.round(t2 - t1), keptBytes, recordsMs: Math.round(t3 - t2), rssMB: Math.round(process.memoryUsage().rss / 1e6) });
    process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
  }
  // One file before all others ("a.png" sorts before "d000/"): every position moves by one.
  fs.writeFileSync(path.join(dir, 'a.png'), '');
  const changed = await FileSource.directory(dir, [stateRoot]);
  const t4 = performance.now();
  let pairs = 0;
  changed.remapFrom(path.join(stateRoot, `state-${reps - 1}`), formerState)!.forEachPair(() => pairs++);
  const remap = { remapMs: Math.round(performance.now() - t4), pairs };
  changed.close();
  if (pairs !== files) throw new Error(`matched ${pairs} files of ${files}`);
  process.stdout.write(`${JSON.stringify({ files, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, runs, remap }, null, 2)}\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
