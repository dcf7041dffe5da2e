import type { ErrorCode } from '../errors/index.js';
import { ItemTally, type JsonlSink } from '../run/index.js';
import { failureFromShownCode, newWorkItem, type ItemFailure } from '../scheduler/index.js';
import type { SeqSet } from '../store/index.js';
import type { ChunkResult } from './chunk-format.js';

/** The submitter's counts as results come in; devices are keyed `agent/device`. */
export class SubmitTally extends ItemTally {
  /** Results that arrived a second time (a chunk redone after its agent died) and were dropped. */
  duplicates = 0;
  /** Results of chunks of another generation (sent before --fresh, or for a job since replaced), dropped. */
  stale = 0;
}

/**
 * Writes results into the output through the run's {@link JsonlSink} (and so its journal),
 * each seq once: `written` holds every seq already in the output, resumed ones included, so a
 * result that comes twice is dropped here, before it reaches the file.
 */
export class ResultWriter {
  constructor(
    private readonly sink: JsonlSink,
    private readonly written: SeqSet,
    private readonly tally: SubmitTally,
  ) {}

  /** Whether `seq` is in the output (or buffered for it). */
  has(seq: number): boolean {
    return this.written.has(seq);
  }

  chunk(r: ChunkResult): void {
    for (const d of r.done) {
      if (!this.written.add(d.seq)) {
        this.tally.duplicates++;
        continue;
      }
      this.sink.doneJson(newWorkItem(d.seq, d.id, ''), d.outputJson, d.device);
      this.tally.count(true, d.device);
    }
    for (const f of r.failed) this.failed(f.seq, f.id, failureFromShownCode(f.code, f.message), f.device);
  }

  failure(seq: number, id: string | number, code: ErrorCode, message: string, device?: string): void {
    this.failed(seq, id, { code, message }, device);
  }

  private failed(seq: number, id: string | number, failure: ItemFailure, device?: string): void {
    if (!this.written.add(seq)) {
      this.tally.duplicates++;
      return;
    }
    this.sink.failed(newWorkItem(seq, id, ''), failure, device);
    this.tally.count(false, device);
  }

  /** Writes and journals everything buffered: after this, the stream entries may be deleted. */
  flush(): Promise<void> {
    return this.sink.flush();
  }
}
