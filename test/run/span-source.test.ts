// JsonlSource.spanBatches over a real stream: plain lines come as spans (ids and offsets right,
// values joined by commas), anything else breaks the span and is read as before.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { JsonlSource, type InputRecord, type SpanRecord } from '../../src/run/index.js';
import { newSpanItem, splitSpan, unpackSpan, unpackSpans, newWorkItem } from '../../src/scheduler/index.js';

async function read(chunks: string[], maxLines: number): Promise<(InputRecord | SpanRecord)[]> {
  const source = JsonlSource.fromStream(Readable.from(chunks), 'test', 'cost');
  const out: (InputRecord | SpanRecord)[] = [];
  for await (const batch of source.spanBatches(maxLines)) out.push(...batch);
  return out;
}

/** Each record as [first id, what it is]: a span's values, an item's text, or "error". */
function shape(records: (InputRecord | SpanRecord)[]): unknown[] {
  return records.map((r) => {
    if ('offsets' in r) return [r.id, 'span', JSON.parse(`[${r.json}]`)];
    if ('parseError' in r) return [r.id, 'error'];
    return [r.id, r.json];
  });
}

test('plain lines become spans of at most maxLines; blanks, bad and careful lines break them', async () => {
  const lines = ['{"a":1}', '{"a":2}', '{"a":3}', '[4]', '', '{"a":5}', 'not json', '\u00a0{"x":0}', '{"a":6}\r', ' "7" ', '{"a":8}'];
  const records = await read([lines.join('\n') + '\n'], 3);
  assert.deepEqual(shape(records), [
    [1, 'span', [{ a: 1 }, { a: 2 }, { a: 3 }]],
    [4, '[4]'], // a span of one is an ordinary record
    [6, '{"a":5}'],
    [7, 'error'],
    [8, 'error'],
    [9, 'span', [{ a: 6 }, '7', { a: 8 }]],
  ]);
  for (const r of records) if ('offsets' in r) assert.equal(r.seq, r.id - 1);
});

test('spans never cross a read chunk; a line cut across chunks is whole, and read on its own', async () => {
  const records = await read(['{"a":1}\n{"a":2}\n{"a"', ':3}\n{"a":4}\n{"a":5}\n', '{"a":6}'], 8);
  assert.deepEqual(shape(records), [
    [1, 'span', [{ a: 1 }, { a: 2 }]],
    [3, '{"a":3}'], // the joined line: only its own bytes are copied, so it is a record of its own
    [4, 'span', [{ a: 4 }, { a: 5 }]],
    [6, '{"a":6}'],
  ]);
});

test('a line over many chunks is joined once; Uint8Array and string chunks (a surrogate pair cut between two) read like Buffers; a leading BOM is skipped', async () => {
  const long = JSON.stringify({ t: 'y'.repeat(50_000) });
  const cuts = [];
  for (let i = 0; i < long.length; i += 999) cuts.push(long.slice(i, i + 999));
  cuts[cuts.length - 1] += '\n{"a":2}\n';
  const longRecords = shape(await read(['\ufeff{"a":0}\n', ...cuts], 8)) as [number, string][];
  assert.deepEqual(longRecords, [[1, '{"a":0}'], [2, long], [3, '{"a":2}']]);
  const fromBytes = JsonlSource.fromStream(Readable.from([new TextEncoder().encode('{"a":1}\n{"b":2}\n3\n')]), 'test', 'cost');
  const bytesRecords: (InputRecord | SpanRecord)[] = [];
  for await (const batch of fromBytes.spanBatches(4)) bytesRecords.push(...batch);
  assert.deepEqual(shape(bytesRecords), [[1, 'span', [{ a: 1 }, { b: 2 }, 3]]]);
  assert.deepEqual(shape(await read(['["\ud83d', '\ude00"]\n["x"]\n["\ud83d'], 4)), [
    [1, '["\ud83d\ude00"]'],
    [2, '["x"]'],
    [3, 'error'], // a lone high surrogate at the very end: U+FFFD in a string that never closes
  ]);
  const bom = await read(['\ufeff{"a":1}\n{"a":2}\n\ufeff{"a":3}\n'], 8);
  assert.deepEqual(shape(bom), [
    [1, 'span', [{ a: 1 }, { a: 2 }]],
    [3, 'error'], // a BOM is skipped only at the start of the input
  ]);
});

test('a BOM handed over a byte at a time is still skipped; one or two of its bytes alone are the input', async () => {
  const bytesOf = (...parts: number[][]) => parts.map((p) => Buffer.from(p));
  const text = [...Buffer.from('{"a":1}\n{"a":2}\n')];
  for (const chunks of [bytesOf([0xef], [0xbb], [0xbf, ...text]), bytesOf([0xef, 0xbb], [], [0xbf], text), bytesOf([], [0xef], [0xbb, 0xbf, ...text])]) {
    const source = JsonlSource.fromStream(Readable.from(chunks), 'test', 'cost');
    const records: (InputRecord | SpanRecord)[] = [];
    for await (const batch of source.spanBatches(8)) records.push(...batch);
    assert.deepEqual(shape(records), [[1, 'span', [{ a: 1 }, { a: 2 }]]]);
  }
  // Not a BOM after all: the bytes are part of the first line, which is then not JSON.
  for (const chunks of [bytesOf([0xef, 0xbb], text), bytesOf([0xef], [0xbb])]) {
    const source = JsonlSource.fromStream(Readable.from(chunks), 'test', 'cost');
    const records: (InputRecord | SpanRecord)[] = [];
    for await (const batch of source.spanBatches(8)) records.push(...batch);
    assert.deepEqual(shape(records)[0], [1, 'error']);
  }
});

test('a span splits and unpacks into the lines it was made of, ids and seqs in step', async () => {
  const records = await read(['{"t":"a,b"}\n[1, 2]\r\n"x"\n{"t":"}"}\n'], 16);
  const rec = records[0] as SpanRecord;
  const span = newSpanItem(rec.seq, rec.id, rec.json, rec.offsets);
  assert.equal(span.count, 4);
  assert.deepEqual(
    unpackSpan(span).map((i) => [i.seq, i.id, JSON.parse(i.json), i.count]),
    [
      [0, 1, { t: 'a,b' }, 1],
      [1, 2, [1, 2], 1],
      [2, 3, 'x', 1],
      [3, 4, { t: '}' }, 1],
    ],
  );
  const [head, rest] = splitSpan(span, 1);
  assert.deepEqual([head.seq, head.id, head.count, JSON.parse(`[${head.json}]`)], [0, 1, 1, [{ t: 'a,b' }]]);
  assert.deepEqual([rest.seq, rest.id, rest.count, JSON.parse(`[${rest.json}]`)], [1, 2, 3, [[1, 2], 'x', { t: '}' }]]);
  assert.deepEqual(unpackSpan(rest).map((i) => i.json.trim()), ['[1, 2]', '"x"', '{"t":"}"}']);
  const single = newWorkItem(9, 10, '{}');
  assert.deepEqual(unpackSpans([single, rest]).map((i) => i.id), [10, 2, 3, 4]);
});

test('lines beyond ASCII (multi-byte, surrogate pairs, invalid UTF-8, a character cut between chunks) unpack to exactly their decoded text', async () => {
  const lines = ['{"t":"é"}', '{"t":"汉字"}', '{"t":"😀 x"}', '"ascii"', '{"t":"a\u00a0b"}'];
  const bytes = Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from([0x22, 0xff, 0x80, 0x22, 0x0a]), Buffer.from('{"t":"ü"}\n')]);
  const cut = bytes.indexOf(Buffer.from('汉')) + 1; // inside the three bytes of 汉
  const expected = bytes.toString('utf8').split('\n').slice(0, -1); // before the reader writes commas into the chunks
  const source = JsonlSource.fromStream(Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]), 'test', 'cost');
  const items = [];
  for await (const batch of source.spanBatches(16)) {
    for (const r of batch) {
      assert.ok(!('parseError' in r), `line ${r.id} was refused`);
      items.push(...unpackSpan('offsets' in r ? newSpanItem(r.seq, r.id, r.json, r.offsets) : newWorkItem(r.seq, r.id, r.json)));
    }
  }
  assert.deepEqual(
    items.map((i) => [i.id, i.json]),
    expected.map((line, k) => [k + 1, line]),
  );
});
