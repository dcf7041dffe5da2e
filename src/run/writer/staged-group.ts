import { OutputSlices } from '../../protocol/index.js';
import { DecimalCounter, LINE_ROOM, putSpanLines } from '../line-bytes.js';

/**
 * A group of output lines as the main thread leaves it for the writer thread: lines it wrote
 * itself (a single item's, a failure's) as bytes, and each span of whole lines as the worker's
 * output bytes, copied as they came, with where each output starts and ends. The writer thread
 * makes the span's lines (`{"id":…,"output":…}`) from them: for small outputs that is most of
 * the main thread's time per item (34% on a 16-CPU host, `bench/results/run/reader-thread-2026-12-05/`).
 */
export interface StagedGroup {
  /** Its first `used` bytes, in file order: finished lines, and the outputs of each span. */
  readonly bytes: Buffer;
  readonly used: number;
  /**
   * Four numbers per span, in file order: the first byte of its outputs in `bytes`, the byte
   * after them, its first line's id (a span's ids count up by one), its number of lines. Bytes
   * between spans are finished lines.
   */
  readonly spans: Float64Array;
  /** Each span line's output, `bytes[bounds[2k]…bounds[2k + 1])`, spans in order. */
  readonly bounds: Uint32Array;
}

/** Bytes the group's lines take at most. */
export function stagedGroupRoom(group: StagedGroup): number {
  let lines = 0;
  for (let s = 3; s < group.spans.length; s += 4) lines += group.spans[s];
  return group.used + lines * LINE_ROOM;
}

const ids = new DecimalCounter();

/**
 * Writes the group's lines into `out` (of at least {@link stagedGroupRoom} bytes) from 0; returns
 * their length. The lines are the bytes `JsonlSink` writes when it makes them itself (both make
 * a span's lines with `putSpanLines`).
 */
export function encodeStagedGroup(group: StagedGroup, out: Buffer): number {
  const { bytes, used, spans } = group;
  // Every span's outputs at once: output `k` of the group is `bytes[bounds[2k]…bounds[2k + 1])`.
  const outputs = new OutputSlices(bytes, group.bounds, false);
  let pos = 0;
  let raw = 0;
  let line = 0;
  for (let s = 0; s < spans.length; s += 4) {
    pos += bytes.copy(out, pos, raw, spans[s]);
    const n = spans[s + 3];
    pos = putSpanLines(out, pos, ids, spans[s + 2], outputs, line, n);
    line += n;
    raw = spans[s + 1];
  }
  pos += bytes.copy(out, pos, raw, used);
  return pos;
}
