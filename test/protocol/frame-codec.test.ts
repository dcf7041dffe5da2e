import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchJsonParts, encodeFrame, FrameDecoder, FrameTooLargeError, MAX_FRAME_BYTES, writeFrame, writeFrameParts } from '../../src/protocol/index.js';
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

test('a large frame over many chunks, its header split too, then frames in the same chunk as its end', () => {
  const big = `{"big":"${'x'.repeat(5_000_000)}"}`;
  const all = Buffer.concat([encodeFrame('{"a":1}'), encodeFrame(big), encodeFrame('{"b":2}'), encodeFrame('{}')]);
  // Chunks of 64 KiB after a first one that cuts the big frame's header (bytes 11-14) or not.
  for (const first of [12, 13, 14, 65_536]) {
    const d = new FrameDecoder();
    const out: string[] = [];
    for (let at = 0, size = first; at < all.length; at += size, size = 65_536) {
      out.push(...d.push(all.subarray(at, at + size)));
      if (at + size < all.length && out.length === 1) assert.ok(d.bufferedBytes > 0, 'the unfinished frame is counted');
    }
    assert.deepEqual(out, ['{"a":1}', big, '{"b":2}', '{}'], `first chunk ${first}`);
    assert.equal(d.bufferedBytes, 0);
  }
});

test('a header announcing more than the limit is refused', () => {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(MAX_FRAME_BYTES + 1, 0);
  assert.throws(() => new FrameDecoder().push(header), FrameTooLargeError);
  // Also when the header arrives in pieces.
  const d = new FrameDecoder();
  d.push(header.subarray(0, 2));
  assert.throws(() => d.push(header.subarray(2)), FrameTooLargeError);
});

test('batchJson splices pre-serialised items into valid JSON', () => {
  const json = batchJson(7, ['{"t":"a"}', '3', '"s"']);
  assert.deepEqual(JSON.parse(json), { type: 'batch', id: 7, items: [{ t: 'a' }, 3, 's'] });
});

test('writeFrame and writeFrameParts send the same bytes as encodeFrame over a real socket, corked by the caller or not', async () => {
  const net = await import('node:net');
  const os = await import('node:os');
  const path = await import('node:path');
  const sock = path.join(os.tmpdir(), `gpupool-frame-${process.pid}.sock`);
  const received: Buffer[] = [];
  let ended!: Promise<void>;
  const server = net.createServer((conn) => {
    conn.on('data', (c: Buffer) => received.push(c));
    ended = new Promise((resolve) => conn.on('end', resolve));
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const client = net.connect(sock);
  await new Promise<void>((resolve) => client.on('connect', resolve));
  // A real lone surrogate: byteLength and the socket's encoding must agree on its 3 bytes.
  const frames = ['{"a":"é日本語"}', batchJson(3, ['{"t":"x"}', '"\ud800"']), '{}'];
  writeFrame(client, frames[0]);
  assert.equal(client.writableCorked, 0, 'writeFrame uncorks what it corked');
  client.cork();
  writeFrame(client, frames[1]);
  writeFrame(client, frames[2]);
  assert.equal(client.writableCorked, 1, "the caller's cork is kept");
  client.uncork();
  // The same batch frame again, written from its parts, uncorked and corked.
  const parts = batchJsonParts(3, ['{"t":"x"}', '"\ud800"']);
  writeFrameParts(client, parts);
  assert.equal(client.writableCorked, 0, 'writeFrameParts uncorks what it corked');
  client.cork();
  writeFrameParts(client, ['', ...parts, '']);
  client.uncork();
  frames.push(frames[1], frames[1]);
  await new Promise<void>((resolve) => client.end(resolve));
  await ended;
  server.close();
  const bytes = Buffer.concat(received);
  assert.deepEqual(bytes, Buffer.concat(frames.map(encodeFrame)));
  // UTF-8 has no lone surrogates: both encoders write U+FFFD for it.
  assert.deepEqual(new FrameDecoder().push(bytes), frames.map((f) => f.replace('\ud800', '\ufffd')));
});
