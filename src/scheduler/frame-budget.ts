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

/** Whether `item`'s JSON alone is over what a frame can carry (its UTF-8 bytes counted only when the bound says it may be). */
export function tooLargeForAFrame(item: WorkItem): boolean {
  return !fitsOneFrame(item.json.length) && Buffer.byteLength(item.json, 'utf8') > ITEMS_ROOM_BYTES;
}
