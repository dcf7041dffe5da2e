import type { ItemFailure, ItemSink, WorkItem } from '../scheduler/index.js';

/**
 * Whoever pushed an item and waits for its answer: an infer request or a job. It rides on
 * `item.ctx`, so one sink per model serves every request and job without a lookup table.
 * Outputs stay JSON text: an HTTP body and a JSONL line both splice them as they are.
 */
export interface ItemOwner {
  itemDone(item: WorkItem, outputJson: string, device: string): void;
  itemFailed(item: WorkItem, failure: ItemFailure, device: string | undefined): void;
}

/** The pool's sink for every model of the server: hands each answer to the item's owner. */
export function ownerSink(): ItemSink {
  return {
    done: (item, output, device) => (item.ctx as ItemOwner).itemDone(item, JSON.stringify(output) ?? 'null', device),
    doneJson: (item, outputJson, device) => (item.ctx as ItemOwner).itemDone(item, outputJson, device),
    failed: (item, failure, device) => (item.ctx as ItemOwner).itemFailed(item, failure, device),
  };
}
