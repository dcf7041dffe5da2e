// What lets a JSONL file that only grew resume its journal: the sha256 of its bytes as a run read
// them to their end, kept in the journal, and the check that the file still begins with them.
import { createHash } from 'node:crypto';
import fs from 'node:fs';

/** The journal's meta key (`JobStore.setMeta`) that holds an {@link InputDigest}. */
export const INPUT_DIGEST_META = 'inputDigest';

/** A JSONL file's bytes as a run read them whole: the file's state then, and their sha256. */
export interface InputDigest {
  readonly state: string;
  readonly sha256: string;
}

/** Bytes per read of the check: large reads, as it reads the file through once. */
const CHECK_READ_BYTES = 1 << 20;

const NEWLINE = 0x0a;

/**
 * `chunks` as they are, hashed on the way (before the reader overwrites them), calling
 * `whole` with the digest when they end after exactly `size` bytes: the file as its state says.
 * A read stopped early, or a file cut shorter while it was read, gives no digest.
 */
export async function* hashedChunks(chunks: AsyncIterable<Buffer>, size: number, whole: (sha256: string) => void): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let read = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    read += chunk.length;
    yield chunk;
  }
  if (read === size) whole(hash.digest('hex'));
}

/**
 * Whether the JSONL file, `size` bytes now, begins with the whole of what it was in `former` (one
 * of its states, "N bytes, modified …"), as the journal's `stored` digest records it: then every
 * line kept its number, and the lines after are new. True, or why not (shown by the refusal).
 *
 * The check reads the file's first N bytes once. It needs a digest taken when `former` was the
 * state: a run records one when it has read the file to its end, so a file that grew while no
 * run of it had got that far cannot be checked, and is refused.
 */
export function jsonlFileContinues(file: string, size: number, former: string, stored: unknown): true | string | false {
  const then = /^(\d+) bytes, modified \S+$/.exec(former);
  if (then === null) return false;
  const thenBytes = Number(then[1]);
  if (size < thenBytes) return `it holds ${size} bytes, fewer than the ${thenBytes} it held then: lines were removed or shortened`;
  const digest = stored as Partial<InputDigest> | undefined;
  if (digest?.state !== former || typeof digest.sha256 !== 'string') {
    return `it grew from ${thenBytes} to ${size} bytes, but no run read it to its end at ${thenBytes} bytes, so its first bytes cannot be checked against those that ran`;
  }
  const { sha256, lastByte, nextByte } = digestOfFirst(file, thenBytes);
  if (sha256 !== digest.sha256) return `its first ${thenBytes} bytes are not those that ran: a line was edited, not only added after the last`;
  // A last line without its line end ran as it was: what was added must begin by ending it.
  if (thenBytes > 0 && lastByte !== NEWLINE && nextByte !== NEWLINE) {
    return `its last line at ${thenBytes} bytes had no line end, and the bytes added do not begin with one: they changed that line`;
  }
  return true;
}

/** The sha256 of the file's first `bytes` bytes (of fewer, if it is shorter now), the last of them and the one after. */
function digestOfFirst(file: string, bytes: number): { sha256: string; lastByte: number | undefined; nextByte: number | undefined } {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(CHECK_READ_BYTES, Math.max(1, bytes)));
  const fd = fs.openSync(file, 'r');
  let lastByte: number | undefined;
  let nextByte: number | undefined;
  try {
    for (let at = 0; at < bytes; ) {
      const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, bytes - at), at);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      lastByte = buffer[n - 1];
      at += n;
    }
    if (fs.readSync(fd, buffer, 0, 1, bytes) === 1) nextByte = buffer[0];
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: hash.digest('hex'), lastByte, nextByte };
}

/** Keeps the digest of an input read to its end in its journal, for the next run (nothing where the source has none). */
export async function keepReadDigest(source: { readDigest?(): InputDigest | undefined }, journal: { setMeta(key: string, value: unknown): unknown }): Promise<void> {
  const digest = source.readDigest?.();
  if (digest !== undefined) await journal.setMeta(INPUT_DIGEST_META, digest);
}
