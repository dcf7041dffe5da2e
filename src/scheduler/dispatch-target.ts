import type { AdaptiveBatchLimit } from './adaptive-batch-limit.js';
import type { WorkItem } from './work-item.js';

/** A batch on its way to, or inside, one worker. */
export interface Batch {
  readonly items: WorkItem[];
  /** Inputs it carries: `items.length` plus what its spans hold beyond one each. */
  readonly size: number;
  readonly target: DispatchTarget;
  readonly sentAt: number;
}

/**
 * What the scheduler needs of a worker: a slot count and a way to send. The worker layer
 * implements it; the scheduler never sees processes.
 */
export interface DispatchTarget {
  /** `ocr/cuda:1/0` */
  readonly id: string;
  /** The (model, device) key of its batch limit: `cuda:1`, `cuda:0+1`, `cpu:0`. */
  readonly deviceKey: string;
  /** Its batch limit: one object for all the targets of the model on its device (they share its memory). */
  readonly limit: AdaptiveBatchLimit;
  /** Ready for work (not starting, restarting, draining or held back for memory). */
  acceptsWork(): boolean;
  readonly inflightCount: number;
  readonly maxInflight: number;
  /** Largest batch the worker itself accepts (its `ready.max_batch`). */
  readonly maxBatch?: number;
  send(batch: Batch, itemsJson: string[]): boolean;
  /** Each of its devices' own key (`cuda:0`, `cuda:1`); `[deviceKey]` when left out. Targets with one in common share memory. */
  readonly deviceKeys?: readonly string[];
  /**
   * Resolves once the worker gave back the device memory it caches (for an item that needs the
   * device whole); optional. `waited: false`: nothing waits for it (it trims a cache the next
   * batches would outgrow), so it is not timed (an answer behind long batches is no fault).
   */
  releaseMemory?(waited?: boolean): Promise<void>;
}
