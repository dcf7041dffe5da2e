import type { InputRecord, SpanRecord } from './input-record.js';

/**
 * A read chunk's records as the reader thread posts them: one string and two typed arrays,
 * whatever the number of records. Posting the records as objects cost the main thread ~3× more
 * to receive (each span's own string and offsets array is an object to rebuild, and a fresh
 * ArrayBuffer per span is the dearest part); here it rebuilds each record from a slice of `text`
 * (a view, not a copy) and a view of `offsets`. The price: an item that stays long (retried)
 * keeps its whole chunk's text alive, at most ~128 KB each, and only while it is in flight.
 */
export interface PackedBatch {
  /** Every record's JSON (a span's values comma-joined; a parse error's message), one after another. */
  readonly text: string;
  /** {@link FIELDS} numbers per record: its kind, seq, cost (a span: its line count), and where its text ends. */
  readonly records: Float64Array;
  /** Every span's value offsets, one span after another. */
  readonly offsets: Uint32Array;
}

const FIELDS = 4;
const SPAN = 0;
const RECORD = 1;
const PARSE_ERROR = 2;

/** The batch in one string and two arrays. Ids must be line numbers (seq + 1), as JSONL's are. */
export function packBatch(batch: readonly (InputRecord | SpanRecord)[]): PackedBatch {
  const records = new Float64Array(batch.length * FIELDS);
  const texts: string[] = [];
  let lines = 0;
  for (const rec of batch) if ('offsets' in rec) lines += rec.offsets.length;
  const offsets = new Uint32Array(lines);
  let end = 0;
  let at = 0;
  batch.forEach((rec, k) => {
    if (rec.id !== rec.seq + 1) throw new Error(`packBatch: record ${rec.seq} has id ${String(rec.id)}; only line numbers (seq + 1) are packed`);
    let text: string;
    const r = k * FIELDS;
    records[r + 1] = rec.seq;
    if ('offsets' in rec) {
      records[r] = SPAN;
      records[r + 2] = rec.offsets.length;
      offsets.set(rec.offsets, at);
      at += rec.offsets.length;
      text = rec.json;
    } else if ('parseError' in rec) {
      records[r] = PARSE_ERROR;
      text = rec.parseError;
    } else {
      records[r] = RECORD;
      records[r + 2] = rec.cost;
      text = rec.json;
    }
    end += text.length;
    records[r + 3] = end;
    texts.push(text);
  });
  return { text: texts.join(''), records, offsets };
}

export function unpackBatch(packed: PackedBatch): (InputRecord | SpanRecord)[] {
  const { text, records, offsets } = packed;
  const out: (InputRecord | SpanRecord)[] = [];
  let start = 0;
  let at = 0;
  for (let r = 0; r < records.length; r += FIELDS) {
    const seq = records[r + 1];
    const end = records[r + 3];
    const body = text.slice(start, end);
    start = end;
    const kind = records[r];
    if (kind === SPAN) {
      const count = records[r + 2];
      out.push({ seq, id: seq + 1, json: body, offsets: offsets.subarray(at, at + count) });
      at += count;
    } else if (kind === PARSE_ERROR) {
      out.push({ seq, id: seq + 1, parseError: body });
    } else {
      out.push({ seq, id: seq + 1, json: body, cost: records[r + 2] });
    }
  }
  return out;
}
