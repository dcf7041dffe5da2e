// What lets a JSONL file that only grew resume its journal: a CRC-32 of its bytes as a run read
// them (to their end, or as far as it had read at its last commit), kept in the journal with
// their length, and the check that the file still begins with them. A CRC-32, not a
// cryptographic hash: it guards against edits, not against someone forging a file, and where the JSONL reader is what bounds a run (a 16-CPU host, tiny
// items) sha256 cost it ~20% (+90 ticks of 10 ms of the reader thread for 20M lines on an H100
// host, bench/results/run/input-digest-2026-12-06/). An edit of the first bytes that keeps
// their CRC and length goes unnoticed with a chance of one in 2^32.
import fs from 'node:fs';
import zlib from 'node:zlib';

/** The journal's meta key (`JobStore.setMeta`) that holds an {@link InputDigest}. */
export const INPUT_DIGEST_META = 'inputDigest';

/**
 * A JSONL file's bytes as a run read them: the file's state then, and the CRC-32 of all of its
 * bytes (the length the state names) or of its first `bytes`.
 */
export interface InputDigest {
  readonly state: string;
  readonly crc32: number;
  /**
   * Set where the CRC is of the file's first bytes only: a run keeps the digest of what it has
   * read before each commit, so every line that ran lies within them, and a run killed before
   * the end leaves one.
   */
  readonly bytes?: number;
  /**
   * Set instead of a digest that could stand: a run found the file's first bytes other than
   * those that ran before (it was edited while the run started), so the lines it ran since were
   * read from other bytes, and no digest vouches for both. Why, for the refusal.
   */
  readonly changedWhileRead?: string;
}

/** Bytes per read of the check: large reads, as it reads the file through once. */
const CHECK_READ_BYTES = 1 << 20;

const NEWLINE = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/** The CRC-32 of a file's first `bytes` bytes, as a journal keeps one. */
export interface PrefixDigest {
  readonly bytes: number;
  readonly crc32: number;
}

/**
 * What a read of a JSONL file does about its digest, settled once the journal is open
 * (`InputDigestKeeper.open`). The digest must be of the bytes that ran: a run that skips lines done
 * by earlier runs reads them again, and an edit made since (while its model loaded) would make it
 * a digest of bytes that never ran. So it is kept only where what was read is known to be what ran.
 */
export interface DigestPlan {
  /** The journal holds this state's digest already: nothing to hash (a resumed run of the same file). */
  readonly skip: boolean;
  /** The journal held no line before this run: every line read is one this run runs. */
  readonly fresh: boolean;
  /**
   * The digest of what ran before (checked by `continues` against the file then, or that of a run
   * of this state stopped before the end): the read must find the same bytes again.
   */
  readonly verified?: PrefixDigest;
}

/** The size a JSONL file's state names ("N bytes, modified …"), or undefined for another kind of state. */
export function stateBytes(state: string): number | undefined {
  const then = /^(\d+) bytes, modified \S+$/.exec(state);
  return then === null ? undefined : Number(then[1]);
}

/** What {@link hashedChunks} tells as it reads; `prefixMatches`: whether the checked prefix was found again, undefined until it was passed. */
export interface HashedRead {
  /**
   * Before each chunk goes on: the bytes read so far up to their last line end, and their CRC-32.
   * The lines the reader has cut so far lie within them; the line that straddles them has not
   * been cut yet.
   */
  chunk(bytes: number, crc32: number, prefixMatches: boolean | undefined): void;
  /**
   * The chunks ended (before the reader cuts a last line without its line end): all the bytes
   * read and their CRC-32; `whole` when they are the file's size.
   */
  end(bytes: number, crc32: number, prefixMatches: boolean | undefined, whole: boolean): void;
}

/**
 * `chunks` as they are, their CRC-32 taken on the way (before the reader overwrites them), told
 * to `read` after each chunk (up to its last line end) and at their end, with whether their first
 * `check.bytes` bytes had `check.crc32`. The digests of a read end at a line end, or where the
 * read ended: so one whose last byte is not a line end holds a last line that ran without one
 * (`jsonlFileContinues` checks what follows it).
 */
export async function* hashedChunks(chunks: AsyncIterable<Buffer>, size: number, check: PrefixDigest | undefined, read: HashedRead): AsyncGenerator<Buffer> {
  let crc = 0;
  let bytes = 0;
  let prefixMatches = check?.bytes === 0 ? check.crc32 === 0 : undefined;
  // The bytes up to the last line end read so far, and their CRC.
  let lineBytes = 0;
  let lineCrc = 0;
  for await (const chunk of chunks) {
    // Hashed in up to three parts, cut where the checked prefix ends and after the last line end.
    let at = 0;
    if (check !== undefined && prefixMatches === undefined && bytes + chunk.length >= check.bytes) {
      at = check.bytes - bytes;
      crc = zlib.crc32(chunk.subarray(0, at), crc);
      prefixMatches = crc === check.crc32;
    }
    const lineEnd = chunk.lastIndexOf(NEWLINE) + 1;
    if (lineEnd > at) {
      crc = zlib.crc32(chunk.subarray(at, lineEnd), crc);
      at = lineEnd;
      lineBytes = bytes + lineEnd;
      lineCrc = crc;
    }
    crc = zlib.crc32(chunk.subarray(at), crc);
    bytes += chunk.length;
    read.chunk(lineBytes, lineCrc, prefixMatches);
    yield chunk;
  }
  read.end(bytes, crc, prefixMatches, bytes === size);
}

/**
 * Whether the JSONL file, `size` bytes now, begins with the bytes that ran when it was in
 * `former` (one of its states, "N bytes, modified …"), as the journal's `stored` digest records
 * them: all N, or the first `bytes` where a run stopped before the end (the lines after them
 * never ran, so they may have changed). Then every line that ran kept its number, and the lines
 * after are the next run's. True, or why not (shown by the refusal).
 *
 * The check reads that much of the file once. It needs a digest taken when `former` was the
 * state, which a run keeps before every commit; a journal made by a gpupool that kept none cannot
 * be checked until a run reads the file to its end, and is refused.
 */
export function jsonlFileContinues(file: string, size: number, former: string, stored: unknown): true | string | false {
  const thenBytes = stateBytes(former);
  if (thenBytes === undefined) return false;
  const digest = stored as Partial<InputDigest> | undefined;
  if (digest?.state === former && typeof digest.changedWhileRead === 'string') {
    return `it changed while a run read it (${digest.changedWhileRead}), so the lines that ran cannot be checked`;
  }
  const known = digest?.state === former && typeof digest.crc32 === 'number';
  const ran = known && typeof digest.bytes === 'number' ? digest.bytes : thenBytes;
  if (size < ran) {
    return `it holds ${size} bytes, fewer than the ${ran} ${ran === thenBytes ? 'it held then' : 'read before'}: lines were removed or shortened`;
  }
  if (!known) {
    return `its journal holds no digest of the ${thenBytes} bytes that ran (an earlier gpupool, which kept none, made the journal, and no run since read the file to its end), so they cannot be checked`;
  }
  const { crc32, lastByte, ended } = digestOfFirst(file, ran);
  if (crc32 !== digest.crc32) return `its first ${ran} bytes are not those read before: a line there was edited or removed, not only lines added after the last`;
  // A digest ends at a line end, or where a read ended: then its last line ran without one, as
  // it was, and what follows must end it: blanks (a CR before the LF, a space) up to a line end
  // or to the end of the file leave its value as it ran.
  if (size > ran && ran > 0 && lastByte !== NEWLINE && !ended) {
    return `its last line read before, at ${ran} bytes, had no line end, and the bytes after it are not blanks up to one: they changed that line`;
  }
  return true;
}

/**
 * The CRC-32 of the file's first `bytes` bytes (of fewer, if it is shorter now), the last of
 * them, and whether what follows them ends a line: only JSON's blanks up to a line end, or to the
 * file's end.
 */
function digestOfFirst(file: string, bytes: number): { crc32: number; lastByte: number | undefined; ended: boolean } {
  let crc = 0;
  const buffer = Buffer.allocUnsafe(Math.min(CHECK_READ_BYTES, Math.max(1, bytes)));
  const fd = fs.openSync(file, 'r');
  let lastByte: number | undefined;
  try {
    for (let at = 0; at < bytes; ) {
      const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, bytes - at), at);
      if (n === 0) break;
      crc = zlib.crc32(buffer.subarray(0, n), crc);
      lastByte = buffer[n - 1];
      at += n;
    }
    return { crc32: crc, lastByte, ended: blanksToLineEnd(fd, bytes) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether the bytes from `at` are JSON's blanks (space, tab, CR) up to a line end or the file's end. */
function blanksToLineEnd(fd: number, at: number): boolean {
  const block = Buffer.allocUnsafe(256);
  for (;;) {
    const n = fs.readSync(fd, block, 0, block.length, at);
    if (n === 0) return true;
    for (let i = 0; i < n; i++) {
      const c = block[i];
      if (c === NEWLINE) return true;
      if (c !== SPACE && c !== TAB && c !== CR) return false;
    }
    at += n;
  }
}
