/**
 * Nanoseconds per input line for the JSONL reader's own work (`JsonlSource.spanBatches`: finding
 * lines, checking they are plain JSON, making spans), the work of the reader thread, which bounds
 * `gpupool run` on a 16-CPU host once the main thread has the writer thread
 * (`bench/results/run/writer-thread-2026-12-06/`). Chunks of 64 KiB from memory, no file I/O.
 * Items: the MLP's `{"seed":N}`, and a document page's `{"path":"/data/…/page-N.png","page":N,"dpi":300}`.
 * Each is read plain and hashed as a JSONL file is (`hashedChunks`: the CRC-32 the journal keeps
 * so that a file that only gained lines resumes), alternated, to show what the hash costs.
 * Usage: node --import tsx bench/run/reader-lines-bench.ts [lines=2000000]
 */
import { hashedChunks, JsonlSource } from '../../src/run/index.js';

const lines = Number(process.argv[2] ?? 2_000_000);
const CHUNK = 64 * 1024;
const kinds = {
  seed: (i: number) => `{"seed":${i}}`,
  page: (i: number) => `{"path":"/data/scans/batch-${i >> 10}/page-${i}.png","page":${i & 1023},"dpi":300}`,
};

async function nsPerLine(make: (i: number) => string, hashed: boolean): Promise<number> {
  const input = Buffer.from(Array.from({ length: lines }, (_, i) => make(i)).join('\n') + '\n');
  // The reader overwrites newlines in its chunks: each pass reads fresh copies, made outside the clock.
  const copies = Array.from({ length: Math.ceil(input.length / CHUNK) }, () => Buffer.allocUnsafe(CHUNK));
  let best = Infinity;
  for (let round = 0; round < 4; round++) {
    for (let k = 0; k < copies.length; k++) input.copy(copies[k], 0, k * CHUNK, (k + 1) * CHUNK);
    const chunks = copies.map((c, k) => (k === copies.length - 1 ? c.subarray(0, input.length - k * CHUNK) : c));
    const plain = async function* () {
      yield* chunks;
    };
    let digest = -1;
    const read = hashed ? () => hashedChunks(plain(), input.length, undefined, { chunk: () => undefined, end: (_bytes, crc32) => (digest = crc32) }) : plain;
    const source = new JsonlSource(read, 'bench', 'bench', input.length, '');
    let seen = 0;
    const start = performance.now();
    for await (const batch of source.spanBatches(256)) for (const rec of batch) seen += 'offsets' in rec ? rec.offsets.length : 1;
    const ms = performance.now() - start;
    if (seen !== lines) throw new Error(`read ${seen} lines of ${lines}`);
    if (hashed && digest === -1) throw new Error('no digest');
    if (round > 0) best = Math.min(best, ms); // the first round warms up
  }
  return (best / lines) * 1e6;
}

for (const [kind, make] of Object.entries(kinds)) {
  for (let pair = 0; pair < 3; pair++) {
    const plain = await nsPerLine(make, false);
    const hashed = await nsPerLine(make, true);
    console.log(`${kind}: ${plain.toFixed(1)} ns per line plain, ${hashed.toFixed(1)} hashed (+${(hashed - plain).toFixed(1)})`);
  }
}
