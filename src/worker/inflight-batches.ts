/**
 * The batches a worker holds, by batch id, in the order they were sent.
 *
 * Not a `Map`, on purpose. Entries come and go with every batch, and V8 rebuilds a Map's
 * table every few inserts (a deleted entry keeps its slot until then); the table it leaves
 * keeps a link to its successor. Once one table has reached the old generation (a full
 * collection promotes whatever is live), every later table is reachable from a dead old object
 * at each scavenge, so it is promoted in turn, with the batches it held and everything they
 * point to: inputs, frames, replies. Measured on `gpupool run` (2-core VM, 12-byte items, 1.3M
 * items/s): after the first full collection ~5 s into a run, 90% of what survived a scavenge was
 * promoted, ~20 MB/s of old-generation garbage, and peak RSS grew with the length of the run.
 * Two small arrays (at most the worker's pipeline depth) do not chain: removing an entry
 * shifts the rest down and clears the slot it leaves.
 */
export class InflightBatches<B> {
  private readonly ids: number[] = [];
  private readonly batches: B[] = [];

  get size(): number {
    return this.ids.length;
  }

  add(id: number, batch: B): void {
    this.ids.push(id);
    this.batches.push(batch);
  }

  /** Removes and returns batch `id`; undefined when it is not held. */
  take(id: number): B | undefined {
    // Answers come in the order batches were sent, so the first slot is nearly always the one.
    const i = this.ids.indexOf(id);
    if (i === -1) return undefined;
    const batch = this.batches[i];
    this.ids.splice(i, 1);
    this.batches.splice(i, 1);
    return batch;
  }

  /** The ids of the batches held, oldest first (a copy). */
  heldIds(): number[] {
    return this.ids.slice();
  }

  /** Removes and returns every batch, oldest first. */
  takeAll(): B[] {
    const all = this.batches.splice(0);
    this.ids.length = 0;
    return all;
  }
}
