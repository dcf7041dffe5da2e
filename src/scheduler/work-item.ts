import type { ItemErrorBody, OutputTexts } from '../protocol/index.js';
import { ERROR_CODES, type ErrorCode } from '../errors/index.js';

/** One input on its way through the pool. The payload stays JSON text end to end. */
export interface WorkItem {
  /** Position in the input, 0-based: the key of the journal and of --shard. */
  readonly seq: number;
  /** What the output line calls it: the 1-based line number, a file path, or a user key. */
  readonly id: string | number;
  /** The input as JSON text, spliced into batch frames as is. */
  readonly json: string;
  /** Pages, tokens, pixels…: bounds a batch by `batch.max_cost`. 1 when not given. */
  readonly cost: number;
  /** Failed batches this item has been in. */
  attempts: number;
  /** Retried alone: it was in `max_attempts` failed batches. */
  isolated: boolean;
  /**
   * Ran out of memory alone on a worker that shares its device with others of the model: retried
   * alone with the device to itself (the others idle, their cached memory given back).
   */
  needsDevice?: boolean;
  /** After a failed batch, its items are retried in batches at most half its size (bisection finds the culprit). */
  batchCap: number;
  lastError?: ItemFailure;
  /** Front-end context (an HTTP request, a chunk…); the scheduler never reads it. */
  readonly ctx?: unknown;
  /**
   * Inputs this item carries: 1, or more for a *span*, consecutive JSONL lines that travel as
   * one item while nothing goes wrong (`json` is their values joined by commas, so it splices
   * into a batch frame as they are; their seqs and ids count up from `seq` and `id`).
   */
  readonly count: number;
  /** A span's value starts in `json` (`offsets[0]` is 0): where it is split or unpacked. */
  readonly offsets?: Uint32Array;
}

export interface ItemFailure {
  readonly code: ErrorCode;
  readonly message: string;
  /**
   * The worker's own code for an item it failed alone (`ItemError(message, code)` in the SDKs,
   * `errors[i].code` in the protocol): what the item's error shows in place of `code`, which
   * stays gpupool's (it picks an HTTP status and an exit code).
   */
  readonly workerCode?: string;
}

/** The code an item's error shows (output line, HTTP body, journal): the worker's own when it gave one. */
export function shownCode(failure: ItemFailure): string {
  return failure.workerCode ?? failure.code;
}

/**
 * What a worker's own code may be: a short tag (letters, digits, `_ . : -`), never a second
 * message, and not one of gpupool's `GPUPOOL_E_…` (read back from a cluster chunk, it would be taken for gpupool's).
 */
const WORKER_CODE = /^(?!GPUPOOL_E_)[A-Za-z0-9_.:-]{1,64}$/;

/**
 * An item the worker failed alone (`errors[i]` of its answer). Its code is kept only when it is
 * such a tag; anything else in that place is left out rather than written into every output line.
 */
export function itemErrorFailure(err: ItemErrorBody | undefined): ItemFailure {
  const message = typeof err?.message === 'string' ? err.message : 'the worker failed this item (its error entry had no message)';
  const code = err?.code;
  return typeof code === 'string' && WORKER_CODE.test(code) ? { code: 'GPUPOOL_E_ITEM_FAILED', message, workerCode: code } : { code: 'GPUPOOL_E_ITEM_FAILED', message };
}

/** An item's failure from a code read back where only the shown code travelled (a cluster chunk's result). */
export function failureFromShownCode(code: string, message: string): ItemFailure {
  return Object.hasOwn(ERROR_CODES, code) ? { code: code as ErrorCode, message } : { code: 'GPUPOOL_E_ITEM_FAILED', message, workerCode: code };
}

/** Where finished items go: the run's output file, an HTTP reply, a Redis chunk. */
export interface ItemSink {
  done(item: WorkItem, output: unknown, device: string): void;
  /**
   * The same, with the output as JSON text: sinks that only pass outputs on (a JSONL file, an
   * HTTP body) implement it and skip a parse and a stringify per item. Preferred when present.
   */
  doneJson?(item: WorkItem, outputJson: string, device: string): void;
  failed(item: WorkItem, failure: ItemFailure, device: string | undefined): void;
  /**
   * A span's outputs, `outputs[from…from + item.count)`, all succeeded. A sink without it
   * gets the span's lines one by one, as does every sink when a span failed in any way.
   */
  doneSpan?(item: WorkItem, outputs: OutputTexts, from: number, device: string): void;
}

export function newWorkItem(seq: number, id: string | number, json: string, cost = 1, ctx?: unknown): WorkItem {
  return { seq, id, json, cost, attempts: 0, isolated: false, batchCap: Infinity, ctx, count: 1 };
}
