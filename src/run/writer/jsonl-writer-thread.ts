/**
 * The body of the JSONL writer thread ({@link LineWriterThread}): for each group the main thread
 * posts, it makes the output lines of its spans (`encodeStagedGroup`), writes the group into
 * the output file at the position given, and answers with its length. Groups come one at a
 * time, in file order; the main thread commits each to the journal only after this answer.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { postableError } from '../threads/posted-error.js';
import { encodeStagedGroup, stagedGroupRoom } from './staged-group.js';
import type { WriteReply, WriteRequest } from './writer-thread-messages.js';

const port = parentPort;
if (!port) throw new Error('jsonl-writer-thread runs only as a worker thread');

const INITIAL_BYTES = 1 << 20;
/** A line buffer larger than this (a group of big outputs) is not kept for the next group. */
const KEEP_BYTES = 16 << 20;
let out = Buffer.allocUnsafeSlow(INITIAL_BYTES);

port.on('message', (request: WriteRequest) => {
  let reply: WriteReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength);
    const group = { bytes, used: request.used, spans: request.spans, bounds: request.bounds };
    const room = stagedGroupRoom(group);
    if (out.length < room) out = Buffer.allocUnsafeSlow(Math.max(room, 2 * out.length));
    const length = encodeStagedGroup(group, out);
    writeAll(request.fd, out, length, request.position);
    if (out.length > KEEP_BYTES) out = Buffer.allocUnsafeSlow(INITIAL_BYTES);
    reply = { kind: 'written', position: request.position, length, bytes: request.bytes, spans: request.spans, bounds: request.bounds };
    transfer.push(request.bytes.buffer as ArrayBuffer, request.spans.buffer as ArrayBuffer, request.bounds.buffer as ArrayBuffer);
  } catch (err) {
    reply = { kind: 'error', error: postableError(err) };
  }
  port.postMessage(reply, transfer);
});

port.postMessage({ kind: 'ready' } satisfies WriteReply);

function writeAll(fd: number, buf: Buffer, length: number, position: number): void {
  for (let offset = 0; offset < length; ) offset += fs.writeSync(fd, buf, offset, length - offset, position + offset);
}
