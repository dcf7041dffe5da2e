import { SeqSet } from '../store/index.js';

/**
 * The chunks a submitter has out (queued or on an agent) and not yet seen answered: their
 * count is the backpressure window, their seqs are skipped when the input is read again.
 */
export class OpenChunks {
  readonly #chunks = new Map<string, readonly number[]>();
  readonly #seqs = new SeqSet();
  #waiter?: { below: () => number; resolve: () => void; forRoom: boolean };

  get size(): number {
    return this.#chunks.size;
  }

  ids(): string[] {
    return [...this.#chunks.keys()];
  }

  has(id: string): boolean {
    return this.#chunks.has(id);
  }

  /** Whether `seq` is in an open chunk. */
  holds(seq: number): boolean {
    return this.#seqs.has(seq);
  }

  add(id: string, seqs: readonly number[]): void {
    this.#chunks.set(id, seqs);
    for (const s of seqs) this.#seqs.add(s);
  }

  /** The chunk is answered (or replaced, or lost): returns whether it was open. */
  close(id: string): boolean {
    const seqs = this.#chunks.get(id);
    if (seqs === undefined) return false;
    this.#chunks.delete(id);
    for (const s of seqs) this.#seqs.delete(s);
    this.wake();
    return true;
  }

  /**
   * The chunk went back as `parts` (split, or queued again): one step, so that a waiter for an
   * empty window never sees the instant between the old chunk closing and its parts opening.
   */
  replace(id: string, parts: readonly (readonly [string, readonly number[]])[]): void {
    const seqs = this.#chunks.get(id);
    this.#chunks.delete(id);
    if (seqs) for (const s of seqs) this.#seqs.delete(s);
    for (const [partId, partSeqs] of parts) this.add(partId, partSeqs);
    this.wake();
  }

  /** Resolves once fewer than `below()` chunks are open; `below` is read again at every wake. */
  room(below: () => number): Promise<void> {
    return this.#wait(below, true);
  }

  /** Resolves once no chunk is open. */
  empty(): Promise<void> {
    return this.#wait(() => 1, false);
  }

  #wait(below: () => number, forRoom: boolean): Promise<void> {
    if (this.#chunks.size < below()) return Promise.resolve();
    return new Promise((resolve) => (this.#waiter = { below, resolve, forRoom }));
  }

  /**
   * Ends a wait for {@link room} (a drain: no more chunks go out), but not one for {@link empty}:
   * the chunks out are still to be answered, once the input has all gone out as before.
   */
  stopWaitingForRoom(): void {
    if (this.#waiter?.forRoom) this.wake(true);
  }

  /** Re-checks a waiter (the window grew, or it must stop waiting: `force`). */
  wake(force = false): void {
    const w = this.#waiter;
    if (w && (force || this.#chunks.size < w.below())) {
      this.#waiter = undefined;
      w.resolve();
    }
  }
}
