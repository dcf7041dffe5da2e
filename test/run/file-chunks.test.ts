// fileChunks reads a real file into one reused buffer; JsonlSource.fromFile must copy whatever
// it keeps across chunks (a line cut by a chunk's end), or the next read overwrites it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { fileChunks, FILE_CHUNK_BYTES } from '../../src/run/sources/file-chunks.js';
import { JsonlSource, type InputRecord, type SpanRecord } from '../../src/run/index.js';

function tempFile(content: Buffer | string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-file-chunks-'));
  const file = path.join(dir, 'input.jsonl');
  fs.writeFileSync(file, content);
  return file;
}

async function all(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(Buffer.from(chunk));
  return out;
}

async function records(source: JsonlSource, maxLines: number): Promise<(InputRecord | SpanRecord)[]> {
  const out: (InputRecord | SpanRecord)[] = [];
  for await (const batch of source.spanBatches(maxLines)) out.push(...batch);
  return out;
}

test('fileChunks yields the whole file in order, as views of one buffer of at most chunkBytes', async () => {
  const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => `{"i":${i}}\n`).join(''));
  const file = tempFile(bytes);
  const copies: Buffer[] = [];
  const memories = new Set<ArrayBufferLike>();
  for await (const chunk of fileChunks(file, 4096)) {
    assert.ok(chunk.length > 0 && chunk.length <= 4096, `a chunk of ${chunk.length} bytes`);
    memories.add(chunk.buffer);
    copies.push(Buffer.from(chunk));
  }
  assert.deepEqual(Buffer.concat(copies), bytes);
  assert.equal(copies.length, Math.ceil(bytes.length / 4096));
  assert.equal(memories.size, 1, 'every chunk is a view of the same reused buffer');
  assert.deepEqual(await all(fileChunks(tempFile(''))), []);
  await assert.rejects(all(fileChunks(path.join(os.tmpdir(), 'gpupool-no-such-file.jsonl'))), { code: 'ENOENT' });
});

test('JsonlSource.fromFile reads lines cut by chunk ends, over several chunks and beyond ASCII, exactly as one fresh chunk would', async () => {
  // Lines that end on, just before and just after a chunk boundary, lines longer than two
  // chunks, and multi-byte characters cut by a boundary: each kept across a read that reuses
  // the chunk's memory.
  const lines: string[] = [];
  let size = 0;
  const add = (line: string) => {
    lines.push(line);
    size += Buffer.byteLength(line) + 1;
  };
  for (let k = 1; k <= 4; k++) {
    while (size < k * FILE_CHUNK_BYTES - 40) add(JSON.stringify({ n: lines.length, pad: 'p'.repeat(lines.length % 97) }));
    add(JSON.stringify({ cut: k, text: 'é€😀'.repeat(20) }));
    add(JSON.stringify({ long: 'L'.repeat(2 * FILE_CHUNK_BYTES + k * 333) }));
    add('not json, line ' + lines.length);
  }
  const text = lines.join('\n') + '\n';
  const expected = await records(JsonlSource.fromStream(Readable.from([Buffer.from(text)]), 'one chunk', 'cost'), 64);
  const actual = await records(JsonlSource.fromFile(tempFile(text), 'cost'), 64);
  assert.ok(Buffer.byteLength(text) > 6 * FILE_CHUNK_BYTES);
  // Spans break at chunk ends, so compare line by line: the text of every line, in order.
  const texts = (rs: (InputRecord | SpanRecord)[]) =>
    rs.flatMap((r) => ('offsets' in r ? (JSON.parse(`[${r.json}]`) as unknown[]).map((v) => JSON.stringify(v)) : 'parseError' in r ? [`error at ${r.id}`] : [r.json]));
  assert.deepEqual(texts(actual), texts(expected));
  assert.equal(texts(actual).length, lines.length);
});
