import { MAX_FRAME_BYTES } from '../protocol/index.js';
import type { WorkItem } from './work-item.js';

/**
 * What a batch frame's items may take: the protocol's frame limit less room for the envelope
 * (`{"type":"batch","id":…,"items":[…]}` and a comma per item).
 */
export const ITEMS_ROOM_BYTES = MAX_FRAME_BYTES - 1024 * 1024;

/**
 * Whether items of `chars` UTF-16 code units of JSON in all may go into one frame, by the bound
 * of 3 bytes of UTF-8 a code unit: no byte count on the hot path (a batch of small items is far
 * under it), and batches of items of tens of MiB are cut a little early.
 */
export function fitsOneFrame(chars: number): boolean {
  return chars * 3 <= ITEMS_ROOM_BYTES;
}

/**
 * The UTF-8 bytes of `item`'s JSON when they are over what a frame can carry, else undefined
 * (counted only when the bound says they may be).
 */
export function bytesOverAFrame(item: WorkItem): number | undefined {
  if (fitsOneFrame(item.json.length)) return undefined;
  const bytes = Buffer.byteLength(item.json, 'utf8');
  return bytes > ITEMS_ROOM_BYTES ? bytes : undefined;
}
