import type { PostedError } from '../threads/posted-error.js';

/**
 * Main thread → writer thread: write the group's lines into `fd` at `position`. `bytes` is
 * transferred (the main thread no longer holds it), the rest copied.
 */
export interface WriteRequest {
  readonly fd: number;
  readonly position: number;
  readonly bytes: Uint8Array;
  readonly used: number;
  readonly spans: Float64Array;
  readonly bounds: Uint32Array;
}

/** Writer thread → main thread, one per request, in order. `bytes` comes back for the next group. */
export type WriteReply =
  | { readonly kind: 'written'; readonly length: number; readonly bytes: Uint8Array }
  | { readonly kind: 'error'; readonly error: PostedError };
