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
 *
 * A frame that spans chunks is gathered into one buffer of its full size, allocated once its
 * header is known, so a large frame costs one copy of its bytes however many chunks bring it
 * (joining the pending part with each 64 KB chunk instead made a 60 MB answer take 20 s).
 */
export class FrameDecoder {
  /** The unfinished frame (header included): 4 bytes while its header is incomplete, then its full size. */
  private partial: Buffer | null = null;
  /** Bytes of `partial` received so far. */
  private filled = 0;

  /** Returns the payloads of the frames completed by this chunk, in order, as strings. */
  push(chunk: Buffer): string[] {
    return this.pushBytes(chunk).map((payload) => payload.toString('utf8'));
  }

  /**
   * Returns the payloads of the frames completed by this chunk, in order, as bytes: views of
   * `chunk`, or of the decoder's own buffer for a frame that spanned chunks (the caller must
   * not reuse the chunk's memory while it holds them; a socket's chunks are fresh each read).
   */
  pushBytes(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let at = 0;
    if (this.partial !== null) {
      at = this.fill(chunk, 0);
      if (this.partial.length === FRAME_HEADER_BYTES && this.filled === FRAME_HEADER_BYTES) {
        // The header is whole: the frame gets its full-size buffer, the header copied in first.
        const frame = this.frameBuffer(this.partial, 0);
        this.partial.copy(frame);
        this.partial = frame;
        at = this.fill(chunk, at);
      }
      if (this.filled < this.partial.length) return out;
      out.push(this.partial.subarray(FRAME_HEADER_BYTES));
      this.partial = null;
    }
    while (chunk.length - at >= FRAME_HEADER_BYTES) {
      const size = chunk.readUInt32LE(at);
      if (size > MAX_FRAME_BYTES) throw new FrameTooLargeError(size);
      const end = at + FRAME_HEADER_BYTES + size;
      if (end > chunk.length) break;
      out.push(chunk.subarray(at + FRAME_HEADER_BYTES, end));
      at = end;
    }
    if (at < chunk.length) {
      // The tail is copied, so the (possibly large) chunk it came from can be collected.
      this.partial = chunk.length - at >= FRAME_HEADER_BYTES ? this.frameBuffer(chunk, at) : Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      this.filled = 0;
      this.fill(chunk, at);
    }
    return out;
  }

  /** An empty buffer the size of the whole frame whose header starts at `bytes[at]`. */
  private frameBuffer(bytes: Buffer, at: number): Buffer {
    const size = bytes.readUInt32LE(at);
    if (size > MAX_FRAME_BYTES) throw new FrameTooLargeError(size);
    return Buffer.allocUnsafe(FRAME_HEADER_BYTES + size);
  }

  /** Copies what `partial` still lacks from `chunk[at…]`; returns where the chunk's unused bytes start. */
  private fill(chunk: Buffer, at: number): number {
    const partial = this.partial!;
    const n = Math.min(partial.length - this.filled, chunk.length - at);
    chunk.copy(partial, this.filled, at, at + n);
    this.filled += n;
    return at + n;
  }

  /** Bytes of an unfinished frame; non-zero at EOF means the peer died mid-frame. */
  get bufferedBytes(): number {
    return this.partial === null ? 0 : this.filled;
  }
}
