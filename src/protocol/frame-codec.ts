/**
 * Frames: a 4-byte little-endian length, then that many bytes of UTF-8 JSON (docs/protocol.md §2).
 * Frames are written from strings, so callers can splice pre-serialised items into a frame
 * without a parse/stringify round trip; they are read as strings or, where the reader passes
 * outputs on as bytes (a worker's answers), as bytes.
 */
export const FRAME_HEADER_BYTES = 4;
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export class FrameTooLargeError extends Error {
  constructor(readonly size: number) {
    super(`protocol frame of ${size} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
    this.name = 'FrameTooLargeError';
  }
}

/** A frame's JSON length in bytes, the header's value; over the limit is an error. */
function checkedSize(size: number): number {
  if (size > MAX_FRAME_BYTES) throw new FrameTooLargeError(size);
  return size;
}

/** Encodes one JSON text as a frame in a single buffer (one write, one syscall). */
export function encodeFrame(json: string): Buffer {
  const size = checkedSize(Buffer.byteLength(json, 'utf8'));
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + size);
  buf.writeUInt32LE(size, 0);
  buf.write(json, FRAME_HEADER_BYTES, 'utf8');
  return buf;
}

/** The stream side of `writeFrame`: a socket, or any Writable. */
export interface FrameSink {
  readonly writableCorked: number;
  cork(): void;
  uncork(): void;
  write(chunk: Buffer | string, encoding?: BufferEncoding): boolean;
}

/**
 * Writes one frame as its 4-byte header and then the JSON string itself: the stream encodes
 * the string straight into its write, so a batch frame of several kilobytes needs no buffer
 * of its own (encodeFrame's fresh ArrayBuffer per frame is garbage that V8 must sweep, a cost
 * per batch on the hot path). The two writes are corked into one writev (one syscall); a
 * caller that has already corked the stream keeps its own cork.
 */
export function writeFrame(stream: FrameSink, json: string): void {
  writeFrameParts(stream, [json]);
}

/**
 * `writeFrame` for a frame whose JSON is the concatenation of `parts` (a header and a body of
 * several kilobytes): each part goes to the stream as it is, and the stream copies them all into
 * its one write. Joined first, they would be copied once more into a flat string, garbage of the
 * frame's size per frame.
 * Each part is encoded on its own, so no part may end inside a surrogate pair (the callers cut
 * their frames at ASCII characters).
 */
export function writeFrameParts(stream: FrameSink, parts: readonly string[]): void {
  let size = 0;
  for (const part of parts) size += Buffer.byteLength(part, 'utf8');
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32LE(checkedSize(size), 0);
  const corked = stream.writableCorked > 0;
  if (!corked) stream.cork();
  stream.write(header);
  for (const part of parts) if (part.length > 0) stream.write(part, 'utf8');
  if (!corked) stream.uncork();
}

/**
 * Incremental decoder: feed it socket chunks, get whole frame payloads back.
 * Keeps at most one partial frame buffered.
 */
export class FrameDecoder {
  private pending: Buffer | null = null;

  /** Returns the payloads of the frames completed by this chunk, in order, as strings. */
  push(chunk: Buffer): string[] {
    return this.pushBytes(chunk).map((payload) => payload.toString('utf8'));
  }

  /**
   * Returns the payloads of the frames completed by this chunk, in order, as bytes: views of
   * `chunk`, or of a copy when a frame was already pending (the caller must not reuse the
   * chunk's memory while it holds them; a socket's chunks are fresh each read).
   */
  pushBytes(chunk: Buffer): Buffer[] {
    let buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    let offset = 0;
    while (buf.length - offset >= FRAME_HEADER_BYTES) {
      const size = buf.readUInt32LE(offset);
      if (size > MAX_FRAME_BYTES) throw new FrameTooLargeError(size);
      const end = offset + FRAME_HEADER_BYTES + size;
      if (end > buf.length) break;
      out.push(buf.subarray(offset + FRAME_HEADER_BYTES, end));
      offset = end;
    }
    if (offset === buf.length) {
      this.pending = null;
    } else {
      // Copy the tail so the (possibly large) chunk it came from can be collected.
      buf = buf.subarray(offset);
      this.pending = offset === 0 ? buf : Buffer.from(buf);
    }
    return out;
  }

  /** Bytes of an unfinished frame; non-zero at EOF means the peer died mid-frame. */
  get bufferedBytes(): number {
    return this.pending?.length ?? 0;
  }
}
