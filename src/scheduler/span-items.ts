import { newWorkItem, type WorkItem } from './work-item.js';

/**
 * Spans: consecutive JSONL lines that travel through the scheduler as one {@link WorkItem}, so
 * the per-item work of the fast path (queueing, batching, retry bookkeeping) is done once per
 * span. A span is only ever sent or delivered whole; before a retry, a failure or an item error
 * touches it, it is unpacked into ordinary items, which the slow path then handles as always.
 */

/**
 * A span of `offsets.length` values starting at input position `seq` (line `id`).
 * `json` is the values joined by commas; `offsets[k]` is where value k starts in it.
 */
export function newSpanItem(seq: number, id: number, json: string, offsets: Uint32Array): WorkItem {
  const count = offsets.length;
  return { seq, id, json, cost: count, attempts: 0, isolated: false, batchCap: Infinity, count, offsets };
}

/** The text of a span's value `k`. */
function valueText(span: WorkItem, offsets: Uint32Array, k: number): string {
  const end = k + 1 < offsets.length ? offsets[k + 1] - 1 : span.json.length;
  return span.json.slice(offsets[k], end);
}

/** The span's inputs as ordinary items, one per line, with the span's context. */
export function unpackSpan(span: WorkItem): WorkItem[] {
  const offsets = span.offsets;
  if (!offsets) return [span];
  const id = span.id as number;
  const items = new Array<WorkItem>(offsets.length);
  for (let k = 0; k < offsets.length; k++) items[k] = newWorkItem(span.seq + k, id + k, valueText(span, offsets, k), 1, span.ctx);
  return items;
}

/** Every span among `items` unpacked, in order; the same array when there is none. */
export function unpackSpans(items: WorkItem[]): WorkItem[] {
  if (!items.some((item) => item.offsets)) return items;
  return items.flatMap(unpackSpan);
}

/** A span cut after its first `k` values (0 < k < count): the head and the rest. */
export function splitSpan(span: WorkItem, k: number): [WorkItem, WorkItem] {
  const offsets = span.offsets!;
  const cut = offsets[k];
  const restOffsets = new Uint32Array(offsets.length - k);
  for (let j = 0; j < restOffsets.length; j++) restOffsets[j] = offsets[k + j] - cut;
  const id = span.id as number;
  return [newSpanItem(span.seq, id, span.json.slice(0, cut - 1), offsets.subarray(0, k)), newSpanItem(span.seq + k, id + k, span.json.slice(cut), restOffsets)];
}
