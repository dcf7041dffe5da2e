import { shownCode, type ItemFailure, type ItemSink, type WorkItem } from '../scheduler/index.js';
import type { ChunkResult, DoneResult, FailedResult } from './chunk-format.js';

/**
 * One chunk on an agent: its items go through the local scheduler with this as their `ctx`,
 * and it gathers their results until every item is answered (done or failed for good).
 */
export class ChunkRun {
  readonly #done: DoneResult[] = [];
  readonly #failed: FailedResult[] = [];
  #left: number;
  #resolve!: () => void;
  /** Resolves once every item of the chunk is answered. */
  readonly finished: Promise<void>;

  constructor(
    readonly chunkId: string,
    count: number,
    /** Prefixed to device keys, so that results name the machine: `gpu-3/cuda:0`. */
    private readonly agentId: string,
  ) {
    this.#left = count;
    this.finished = new Promise((resolve) => (this.#resolve = resolve));
    if (count === 0) this.#resolve();
  }

  doneJson(item: WorkItem, outputJson: string, device: string): void {
    this.#done.push({ seq: item.seq, id: item.id, device: `${this.agentId}/${device}`, outputJson });
    this.#answered();
  }

  failed(item: WorkItem, failure: ItemFailure, device: string | undefined): void {
    this.#failed.push({ seq: item.seq, id: item.id, device: device === undefined ? undefined : `${this.agentId}/${device}`, code: shownCode(failure), message: failure.message });
    this.#answered();
  }

  get doneCount(): number {
    return this.#done.length;
  }

  get failedCount(): number {
    return this.#failed.length;
  }

  result(): ChunkResult {
    return { chunk: this.chunkId, agent: this.agentId, done: this.#done, failed: this.#failed };
  }

  #answered(): void {
    if (--this.#left === 0) this.#resolve();
  }
}

function runOf(item: WorkItem): ChunkRun {
  return item.ctx as ChunkRun;
}

/** The agent's sink for every model: each result goes to the chunk its item came in. */
export const chunkSink: ItemSink = {
  done: (item, output, device) => runOf(item).doneJson(item, JSON.stringify(output) ?? 'null', device),
  doneJson: (item, outputJson, device) => runOf(item).doneJson(item, outputJson, device),
  failed: (item, failure, device) => runOf(item).failed(item, failure, device),
};
