/**
 * Nanoseconds per output line for `JsonlSink.doneSpan`, the step of `gpupool run`'s main thread
 * that writes a span's output lines into the group buffer (34% of that thread on the MLP's small
 * items, with the reader thread on): spans of 256 lines whose outputs are small ints, as a
 * worker's `result_array` of the MLP gives them; groups are written to a file in /tmp as in a run.
 * Usage: node --import tsx bench/run/sink-lines-bench.ts [spans=8000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { splitJsonArrayBytes } from '../../src/protocol/index.js';
import { JsonlSink } from '../../src/run/index.js';
import { newSpanItem } from '../../src/scheduler/index.js';

const spans = Number(process.argv[2] ?? 8000);
const LINES = 256;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-sink-bench-'));
const sink = new JsonlSink({ path: path.join(dir, 'out.jsonl'), startBytes: 0, commit: () => {}, flushItems: 8192 });
const answer = Buffer.from(JSON.stringify(Array.from({ length: LINES }, (_, i) => (i * 7919) & 1023)).replace(/,/g, ', '));
const outputs = splitJsonArrayBytes(answer, 0, LINES, true)!;
const offsets = new Uint32Array(LINES);
let seq = 1_000_000;
let spentMs = 0;
for (let round = 0; round < 2; round++) {
  spentMs = 0; // the first round warms up
  for (let s = 0; s < spans; s++) {
    const item = newSpanItem(seq, seq + 1, 'x', offsets);
    const start = performance.now();
    sink.doneSpan(item, outputs, 0, 'cpu:0');
    spentMs += performance.now() - start;
    seq += LINES;
    if (s % 16 === 0) await new Promise((resolve) => setImmediate(resolve)); // let groups be written, as between answers
  }
}
console.log(`${((spentMs / spans / LINES) * 1e6).toFixed(1)} ns per line (doneSpan only)`);
await sink.close();
fs.rmSync(dir, { recursive: true, force: true });
