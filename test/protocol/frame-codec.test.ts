import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder, FrameTooLargeError, MAX_FRAME_BYTES } from '../../src/protocol/index.js';
import { batchJson } from '../../src/protocol/index.js';

test('a frame is a little-endian length then UTF-8 JSON', () => {
  const buf = encodeFrame('{"type":"ready","x":"é"}');
  assert.equal(buf.readUInt32LE(0), Buffer.byteLength('{"type":"ready","x":"é"}'));
  assert.equal(buf.toString('utf8', 4), '{"type":"ready","x":"é"}');
});

test('frames split across chunks at every byte boundary decode whole and in order', () => {
  const frames = ['{"a":1}', '{"b":"日本語"}', '{}'];
  const all = Buffer.concat(frames.map(encodeFrame));
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new FrameDecoder();
    const out = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
    assert.deepEqual(out, frames, `cut at ${cut}`);
    assert.equal(d.bufferedBytes, 0);
  }
});

test('one byte at a time still decodes', () => {
  const all = Buffer.concat([encodeFrame('{"x":[1,2,3]}'), encodeFrame('{"y":null}')]);
  const d = new FrameDecoder();
  const out: string[] = [];
  for (const byte of all) out.push(...d.push(Buffer.from([byte])));
  assert.deepEqual(out, ['{"x":[1,2,3]}', '{"y":null}']);
});

test('a header announcing more than the limit is refused', () => {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(MAX_FRAME_BYTES + 1, 0);
  assert.throws(() => new FrameDecoder().push(header), FrameTooLargeError);
});

test('batchJson splices pre-serialised items into valid JSON', () => {
  const json = batchJson(7, ['{"t":"a"}', '3', '"s"']);
  assert.deepEqual(JSON.parse(json), { type: 'batch', id: 7, items: [{ t: 'a' }, 3, 's'] });
});
