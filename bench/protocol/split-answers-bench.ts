/**
 * Nanoseconds per output for splitting a worker's `result_array` answer (`splitJsonArrayBytes`),
 * the step of gpupool's main thread that cuts a batch's answer into its outputs: 4,096 outputs
 * as Python's `json.dumps` writes them (", " between elements), of three shapes.
 * Usage: node --import tsx bench/protocol/split-answers-bench.ts [rounds=3000]
 */
import { splitJsonArrayBytes } from '../../src/protocol/index.js';

const rounds = Number(process.argv[2] ?? 3000);
const answer = (make: (i: number) => unknown) => Buffer.from(JSON.stringify(Array.from({ length: 4096 }, (_, i) => make(i))).replace(/,/g, ', '));
const shapes = {
  'small ints (the MLP)': answer((i) => (i * 7919) & 1023),
  'objects of short strings (a classifier)': answer((i) => ({ label: 'cat', score: i / 4096 })),
  'strings with escapes (OCR text)': answer((i) => `text ${i} "q"`),
};
for (const [name, bytes] of Object.entries(shapes)) {
  for (let w = 0; w < 300; w++) splitJsonArrayBytes(bytes, 0, 4096, true);
  const start = performance.now();
  for (let r = 0; r < rounds; r++) splitJsonArrayBytes(bytes, 0, 4096, true);
  console.log(`${name}: ${(((performance.now() - start) / rounds / 4096) * 1e6).toFixed(1)} ns per output`);
}
