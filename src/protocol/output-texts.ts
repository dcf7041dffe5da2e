import { putBytes, putText, utf8Room } from './utf8-text.js';

/**
 * A batch's outputs as JSON texts, passed on from the worker's answer to a sink without being
 * parsed. Output `i`'s text is `text(i)`; a sink that writes bytes asks for `room(i)` and then
 * `put`s it, which for {@link OutputSlices} is a copy of the answer's own bytes: no string per
 * output at all.
 */
export interface OutputTexts {
  readonly length: number;
  /** Output `i`'s JSON text. */
  text(i: number): string;
  /** Bytes output `i` can take in UTF-8 (exact for slices, an upper bound for strings). */
  room(i: number): number;
  /** Writes output `i` as UTF-8 at `pos` (after making `room(i)`); returns the position after it. */
  put(buf: Buffer, pos: number, i: number): number;
}

/** Outputs held as strings (a classic `result`, tests, or a sink's own re-encoding). */
export class OutputStrings implements OutputTexts {
  constructor(readonly texts: readonly string[]) {}

  get length(): number {
    return this.texts.length;
  }

  text(i: number): string {
    return this.texts[i];
  }

  room(i: number): number {
    return utf8Room(this.texts[i]);
  }

  put(buf: Buffer, pos: number, i: number): number {
    return putText(buf, pos, this.texts[i]);
  }
}

/**
 * Outputs as slices of a received frame: output `i` is `bytes[bounds[2i]…bounds[2i + 1])`. Cuts
 * fall on ASCII bytes, so every slice is whole characters; from `decodeWorkerMessage` the frame
 * is also valid UTF-8 (it replaced any bad bytes). `ascii` says the whole frame is ASCII, as the
 * SDKs' JSON is.
 */
export class OutputSlices implements OutputTexts {
  /** The frame as one string, once a caller asked for text (ASCII frames only). */
  private decoded?: string;

  constructor(
    readonly bytes: Buffer,
    readonly bounds: Uint32Array,
    readonly ascii: boolean,
  ) {}

  get length(): number {
    return this.bounds.length >> 1;
  }

  /**
   * A sink that wants strings (serve, the cluster) gets slices of one decode of an ASCII frame,
   * as cheap as before outputs were bytes (a slice of a string shares its characters); only a
   * frame beyond ASCII decodes each output on its own.
   */
  text(i: number): string {
    const start = this.bounds[2 * i];
    const end = this.bounds[2 * i + 1];
    if (!this.ascii) return this.bytes.toString('utf8', start, end);
    this.decoded ??= this.bytes.toString('latin1');
    return this.decoded.slice(start, end);
  }

  room(i: number): number {
    return this.bounds[2 * i + 1] - this.bounds[2 * i];
  }

  put(buf: Buffer, pos: number, i: number): number {
    return putBytes(buf, pos, this.bytes, this.bounds[2 * i], this.bounds[2 * i + 1]);
  }
}

/** Every output's text, in order. */
export function outputTextList(outputs: OutputTexts): string[] {
  const texts = new Array<string>(outputs.length);
  for (let i = 0; i < texts.length; i++) texts[i] = outputs.text(i);
  return texts;
}
