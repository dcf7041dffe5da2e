import type { PostedError } from '../threads/posted-error.js';

/**
 * Main thread → writer thread: write the group's lines into `fd` at `position`. The arrays are
 * transferred (the main thread no longer holds them); `spans` and `bounds` may be views of
 * longer arrays, which come back whole.
 */
export interface WriteRequest {
  readonly fd: number;
  readonly position: number;
  readonly bytes: Uint8Array;
  readonly used: number;
  readonly spans: Float64Array;
  readonly bounds: Uint32Array;
}

/**
 * Writer thread → main thread, one per request, in order. The request's arrays come back for the
 * next group: made anew per group, they were garbage of the thread's heap, which collects so
 * rarely that tens of MB of them waited there (peak RSS +29 MB over 5M items on the dev VM).
 */
export type WriteReply =
  /** First, once the thread's module has loaded. */
  | { readonly kind: 'ready' }
  | { readonly kind: 'written'; readonly position: number; readonly length: number; readonly bytes: Uint8Array; readonly spans: Float64Array; readonly bounds: Uint32Array }
  | { readonly kind: 'error'; readonly error: PostedError };
