/**
 * Stream chunks as Buffers, for a reader that works on bytes. Files and stdin yield Buffers;
 * a caller's Readable may yield plain Uint8Arrays or strings. A string that ends between the
 * two halves of a surrogate pair keeps its high half for the next chunk, so the pair is
 * encoded whole (as a StringDecoder would have joined it).
 */
export class ChunkBytes {
  private highSurrogate = '';

  bytes(chunk: Buffer | Uint8Array | string): Buffer {
    if (Buffer.isBuffer(chunk)) return chunk;
    if (typeof chunk !== 'string') return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let text = this.highSurrogate + chunk;
    this.highSurrogate = '';
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.highSurrogate = text.slice(-1);
      text = text.slice(0, -1);
    }
    return Buffer.from(text, 'utf8');
  }

  /** What is held back at the end of the stream: a lone high surrogate, encoded as UTF-8 does (U+FFFD). */
  rest(): Buffer {
    return Buffer.from(this.highSurrogate, 'utf8');
  }
}
