// What lets a JSONL file that only grew resume its journal: a CRC-32 of its bytes as a run read
// them to their end, kept in the journal with their length, and the check that the file still
// begins with them. A CRC-32, not a cryptographic hash: it guards against edits, not against
// someone forging a file, and where the JSONL reader is what bounds a run (a 16-CPU host, tiny
// items) sha256 cost it ~20% (+90 ticks of 10 ms of the reader thread for 20M lines on an H100
// host, bench/results/run/input-digest-2026-12-06/). An edit of the first bytes that keeps
// their CRC and length goes unnoticed with a chance of one in 2^32.
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { JobStore } from '../../store/index.js';

/** The journal's meta key (`JobStore.setMeta`) that holds an {@link InputDigest}. */
export const INPUT_DIGEST_META = 'inputDigest';

/** A JSONL file's bytes as a run read them whole: the file's state then (their length in it), and their CRC-32. */
export interface InputDigest {
  readonly state: string;
  readonly crc32: number;
}

/** Bytes per read of the check: large reads, as it reads the file through once. */
const CHECK_READ_BYTES = 1 << 20;

const NEWLINE = 0x0a;
const CR = 0x0d;

/** The CRC-32 of a file's first `bytes` bytes, as a journal keeps one. */
export interface PrefixDigest {
  readonly bytes: number;
  readonly crc32: number;
}

/**
 * What a read of a JSONL file does about its digest, settled once the journal is open
 * ({@link planReadDigest}). The digest must be of the bytes that ran: a run that skips lines done
 * by earlier runs reads them again, and an edit made since (while its model loaded) would make it
 * a digest of bytes that never ran. So it is kept only where what was read is known to be what ran.
 */
export interface DigestPlan {
  /** The journal holds this state's digest already: nothing to hash (a resumed run of the same file). */
  readonly skip: boolean;
  /** The journal held no line before this run: every line read is one this run runs. */
  readonly fresh: boolean;
  /** The digest of what ran before, checked by `continues` against the file then: the read must find the same bytes again. */
  readonly verified?: PrefixDigest;
}

/**
 * `chunks` as they are, their CRC-32 taken on the way (before the reader overwrites them),
 * calling `whole` with it when they end after exactly `size` bytes (the file as its state says),
 * and whether their first `check.bytes` bytes had `check.crc32`. A read stopped early, or a file
 * cut shorter while it was read, gives none.
 */
export async function* hashedChunks(chunks: AsyncIterable<Buffer>, size: number, check: PrefixDigest | undefined, whole: (crc32: number, prefixMatches: boolean | undefined) => void): AsyncGenerator<Buffer> {
  let crc = 0;
  let read = 0;
  let prefixMatches = check?.bytes === 0 ? check.crc32 === 0 : undefined;
  for await (const chunk of chunks) {
    if (check !== undefined && prefixMatches === undefined && read + chunk.length >= check.bytes) {
      const cut = check.bytes - read;
      crc = zlib.crc32(chunk.subarray(0, cut), crc);
      prefixMatches = crc === check.crc32;
      crc = zlib.crc32(chunk.subarray(cut), crc);
    } else {
      crc = zlib.crc32(chunk, crc);
    }
    read += chunk.length;
    yield chunk;
  }
  if (read === size) whole(crc, prefixMatches);
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
  if (digest?.state !== former || typeof digest.crc32 !== 'number') {
    return `its journal holds no digest of the ${thenBytes} bytes that ran (no run read the file to its end, or an earlier gpupool, which kept none, made the journal), so they cannot be checked`;
  }
  const { crc32, lastByte, next } = digestOfFirst(file, thenBytes);
  if (crc32 !== digest.crc32) return `its first ${thenBytes} bytes are not those that ran: a line was edited, not only added after the last`;
  // A last line without its line end ran as it was: bytes added must begin by ending it (a CR
  // before the LF is no part of a line).
  const ended = next[0] === NEWLINE || (next[0] === CR && next[1] === NEWLINE);
  if (size > thenBytes && thenBytes > 0 && lastByte !== NEWLINE && !ended) {
    return `its last line at ${thenBytes} bytes had no line end, and the bytes added do not begin with one: they changed that line`;
  }
  return true;
}

/** The CRC-32 of the file's first `bytes` bytes (of fewer, if it is shorter now), the last of them and the two after. */
function digestOfFirst(file: string, bytes: number): { crc32: number; lastByte: number | undefined; next: Buffer } {
  let crc = 0;
  const buffer = Buffer.allocUnsafe(Math.min(CHECK_READ_BYTES, Math.max(1, bytes)));
  const fd = fs.openSync(file, 'r');
  let lastByte: number | undefined;
  let next = Buffer.alloc(0);
  try {
    for (let at = 0; at < bytes; ) {
      const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, bytes - at), at);
      if (n === 0) break;
      crc = zlib.crc32(buffer.subarray(0, n), crc);
      lastByte = buffer[n - 1];
      at += n;
    }
    next = Buffer.alloc(2);
    next = next.subarray(0, fs.readSync(fd, next, 0, 2, bytes));
  } finally {
    fs.closeSync(fd);
  }
  return { crc32: crc, lastByte, next };
}

/** Keeps the digest of an input read to its end in its journal, for the next run (nothing where the source has none). */
export async function keepReadDigest(source: { readDigest?(): InputDigest | undefined }, journal: { setMeta(key: string, value: unknown): unknown }): Promise<void> {
  const digest = source.readDigest?.();
  if (digest !== undefined) await journal.setMeta(INPUT_DIGEST_META, digest);
}

/** Settles what the source's reads do about its digest, once the journal is open and its counts known (see {@link DigestPlan}). */
export async function planReadDigest(source: { readonly state?: string; planReadDigest?(plan: DigestPlan): void }, journal: Pick<JobStore, 'status'>, counts: { readonly done: number; readonly failed: number }): Promise<void> {
  if (source.planReadDigest === undefined || source.state === undefined) return;
  const kept = (await journal.status({ failureLimit: 0 })).meta[INPUT_DIGEST_META] as Partial<InputDigest> | undefined;
  source.planReadDigest({ skip: kept?.state === source.state, fresh: counts.done + counts.failed === 0 });
}
