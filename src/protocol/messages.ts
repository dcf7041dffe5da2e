import type { OutputTexts } from './output-texts.js';

/** Message types of protocol version 1 (docs/protocol.md §3). */
export const PROTOCOL_VERSION = 1;

export interface SeenDevice {
  name: string;
  uuid?: string;
  memory_total?: number;
  memory_free?: number;
}

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  pid: number;
  sdk?: string;
  framework?: string;
  devices?: SeenDevice[];
}

export interface ReadyMessage {
  type: 'ready';
  max_batch?: number;
  /** Batches the worker works on at once (it launches the next before finishing the last). */
  pipeline?: number;
  /** Microseconds the worker polls for its next batch after each answer before it sleeps. */
  poll_us?: number;
  /** The worker answers `release` (gives back the device memory it caches) with `released`. */
  release?: boolean;
}

/** The answer to `release`: the worker gave back what it could of the device memory it cached. */
export interface ReleasedMessage {
  type: 'released';
}

export interface ItemErrorBody {
  message: string;
  code?: string;
}

export interface ResultMessage {
  type: 'result';
  id: number;
  outputs: unknown[];
  errors?: Record<string, ItemErrorBody>;
  /** Device memory the batch took at its peak, in bytes, above what was allocated before it (optional; a worker's own measure). */
  batch_memory?: number;
}

/**
 * The fast form of `result` (docs/protocol.md §3): the payload is this header as one line of
 * JSON, then each output's compact JSON on a line of its own. The host splits lines instead of
 * parsing outputs it only passes on, so an output stays JSON text from worker to sink.
 */
export interface ResultLinesHeader {
  type: 'result_lines';
  id: number;
  count: number;
  errors?: Record<string, ItemErrorBody>;
  /** Device memory the batch took at its peak, in bytes, above what was allocated before it (optional; a worker's own measure). */
  batch_memory?: number;
}

/**
 * The header line of a `result_array` frame, followed by the outputs as one compact JSON
 * array (one encoder call for the whole list, the cheap form in Python).
 */
export interface ResultArrayHeader {
  type: 'result_array';
  id: number;
  count: number;
  errors?: Record<string, ItemErrorBody>;
  /** Device memory the batch took at its peak, in bytes, above what was allocated before it (optional; a worker's own measure). */
  batch_memory?: number;
  /**
   * The array was written by a strict JSON encoder (no `NaN` or `Infinity`: Python's with
   * `allow_nan=False`, JavaScript's `JSON.stringify`), as the SDKs' are: gpupool checks the
   * structure only, not each bare number and literal.
   */
  strict?: boolean;
}

/** A decoded `result_lines` or `result_array` frame: the header plus each output's JSON text. */
export interface ResultLinesMessage extends ResultLinesHeader {
  outputs: OutputTexts;
}

/** What the worker asks gpupool to do about a failed batch; never inferred from the message text. */
export type FailureKind = 'oom' | 'batch' | 'fatal';

export interface FailedMessage {
  type: 'failed';
  id: number;
  kind: FailureKind;
  message: string;
}

export interface FatalMessage {
  type: 'fatal';
  message: string;
  traceback?: string;
}

export type WorkerMessage = HelloMessage | ReadyMessage | ResultMessage | ResultLinesMessage | FailedMessage | FatalMessage | ReleasedMessage;

export interface BatchMessage {
  type: 'batch';
  id: number;
  items: unknown[];
}

export interface StopMessage {
  type: 'stop';
}

/** Sent only to a worker idle on a device another worker's item needs whole, and only if its `ready` said `release`. */
export interface ReleaseMessage {
  type: 'release';
}

export type HostMessage = BatchMessage | StopMessage | ReleaseMessage;

export const FAILURE_KINDS: readonly FailureKind[] = ['oom', 'batch', 'fatal'];

/**
 * Builds a batch frame's JSON from items already serialised as JSON text, so the hot path
 * never re-stringifies what it read from a JSONL line.
 */
export function batchJson(id: number, itemsJson: readonly string[]): string {
  return batchJsonParts(id, itemsJson).join('');
}

/** {@link batchJson} in three parts, for `writeFrameParts`: the head, the items, the end. */
export function batchJsonParts(id: number, itemsJson: readonly string[]): [string, string, string] {
  return [`{"type":"batch","id":${id},"items":[`, itemsJson.join(','), ']}'];
}
