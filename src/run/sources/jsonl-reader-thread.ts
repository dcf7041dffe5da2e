/**
 * The body of the JSONL reader thread ({@link ThreadedJsonlSource}): it reads the file, cuts it
 * into lines, checks and decodes them, as {@link JsonlSource} does on the main thread, and posts
 * each read chunk's records to the main thread as one message. It posts only while it holds
 * credits from the main thread (one per message), so it never runs more than a few chunks ahead:
 * host memory stays bounded however fast the file is read.
 */
import fs from 'node:fs';
import net from 'node:net';
import tty from 'node:tty';
import { parentPort, workerData } from 'node:worker_threads';
import { fdChunks } from './file-chunks.js';
import { JsonlSource, streamIdentity } from './jsonl-source.js';
import { packBatch } from './packed-batch.js';
import { postableError } from '../threads/posted-error.js';
import type { ReaderThreadMessage, ReaderThreadOptions } from './reader-thread-messages.js';

const port = parentPort;
if (!port) throw new Error('jsonl-reader-thread runs only as a worker thread');
const options = workerData as ReaderThreadOptions;

let credits = 0;
let wake: (() => void) | undefined;
port.on('message', (granted: number) => {
  credits += granted;
  wake?.();
  wake = undefined;
});

const post = (message: ReaderThreadMessage) => port.postMessage(message);

async function read(): Promise<void> {
  const source = options.file !== undefined ? JsonlSource.fromFile(options.file, options.costField, options.known) : new JsonlSource(stdinChunks, 'stdin', streamIdentity('stdin'), undefined, options.costField);
  if (options.digestPlan) source.planReadDigest(options.digestPlan);
  const batches = options.spanLines > 1 ? source.spanBatches(options.spanLines) : source.recordBatches();
  for await (const batch of batches) {
    while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
    credits--;
    post({ kind: 'batch', batch: packBatch(batch), fraction: source.fractionRead(), checkpoint: source.readCheckpoint() });
  }
  post({ kind: 'end', digest: source.readDigest(), lines: source.linesRead });
}

read().catch((err: unknown) => post({ kind: 'error', error: postableError(err) }));

/**
 * stdin's bytes. A pipe, socket or terminal is read through a handle of this thread's event loop,
 * as Node reads the main thread's stdin: a blocking read on libuv's thread pool could not be
 * cancelled, so a run stopped while its producer is silent would wait for the producer before it
 * could end this thread. A regular file (`< items.jsonl`) is read like any file.
 */
function stdinChunks(): AsyncIterable<Buffer> {
  const stat = fs.fstatSync(0);
  if (stat.isFIFO() || stat.isSocket()) return new net.Socket({ fd: 0, readable: true, writable: false });
  if (tty.isatty(0)) return new tty.ReadStream(0);
  return fdChunks(0);
}
