// JsonlSource over a real stream: line numbers, blank lines (of every kind of whitespace) are
// not inputs, CRLF endings, a line cut across read chunks, malformed lines kept with their number.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { JsonlSource, type InputRecord } from '../../src/run/index.js';

async function read(chunks: string[]): Promise<InputRecord[]> {
  const source = JsonlSource.fromStream(Readable.from(chunks), 'test', 'cost');
  const out: InputRecord[] = [];
  for await (const batch of source.recordBatches()) out.push(...batch);
  return out;
}

test('blank lines of any whitespace are skipped but counted; leading whitespace does not make a line blank', async () => {
  const text = ['{"a":1}', '', '   ', '\t', '\r', '\u00a0', '\u2028\u3000', '  {"b":2}', '\u00a0{"c":3}', '[1,2]\r', '"x"'].join('\n');
  const records = await read([text]);
  assert.deepEqual(
    records.map((r) => ('parseError' in r ? [r.id, 'error'] : [r.id, r.json])),
    [[1, '{"a":1}'], [8, '  {"b":2}'], [9, 'error'], [10, '[1,2]'], [11, '"x"']],
  );
  // JSON allows only space, tab, CR and LF around a value: a line led by a no-break space is malformed, with its number.
  const bad = records.find((r) => r.id === 9)!;
  assert.ok('parseError' in bad && /^line 9 is not valid JSON/.test(bad.parseError));
});

test('a line cut across read chunks is whole; the last line needs no newline; cost comes from the field', async () => {
  const records = await read(['{"cost":', '3,"t":"a"}\n{"t"', ':"b"}\n{"cost":0.5}']);
  assert.deepEqual(records.map((r) => ('json' in r ? [r.seq, r.id, r.json, r.cost] : r)), [
    [0, 1, '{"cost":3,"t":"a"}', 3],
    [1, 2, '{"t":"b"}', 1],
    [2, 3, '{"cost":0.5}', 0.5],
  ]);
});
