import { randomBytes } from 'node:crypto';

/**
 * The ids of the chunks one submitter sends: `<generation>.<run>-<n>`, where the run is this
 * submitter's own token (a resumed run never reuses a killed one's ids) and the parts a lost
 * chunk is split into, or its solo copy, add `.0`, `.1` or `.s`. An agent names the chunk in
 * its results, so the results of a chunk from another generation are told by their id.
 */
export class ChunkIds {
  readonly #run = randomBytes(4).toString('hex');
  #next = 0;

  constructor(readonly generation: string) {}

  next(): string {
    return `${this.generation}.${this.#run}-${this.#next++}`;
  }

  /** Whether `id` (a part's too) is a chunk of this generation. */
  ofGeneration(id: string): boolean {
    return id.startsWith(`${this.generation}.`);
  }
}
