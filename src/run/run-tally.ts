import type { Pool } from '../pool/index.js';
import { deviceLimits, workerLimitsByDevice } from '../scheduler/index.js';
import type { RunSummary } from './run-options.js';

/** Counts of a job as results come in: what `run` and `submit` share. */
export class ItemTally {
  readonly startedAt = performance.now();
  done = 0;
  failed = 0;
  /** Items an earlier run had finished. */
  resumed = 0;
  /** Of `resumed`, those it had failed: the job still has failures, and exits 1. */
  resumedFailed = 0;
  /** Input positions read so far (blank lines included: they keep their number). */
  read = 0;
  /** Inputs read so far: what a finished job's total is (blank lines are not inputs). */
  inputs = 0;
  /** The whole input has been read: `inputs` is its total, no longer an estimate. */
  readAll = false;
  /** Items per device key. */
  readonly perDevice = new Map<string, number>();
  /** This run's failures by the code their lines show, with the first one's id. */
  readonly failedByCode = new Map<string, { count: number; firstId: string | number }>();

  /** A failed item's code (as its line shows it) and id, for the summary's breakdown. */
  countFailure(code: string, id: string | number): void {
    const seen = this.failedByCode.get(code);
    if (seen) seen.count++;
    else this.failedByCode.set(code, { count: 1, firstId: id });
  }

  count(ok: boolean, device: string | undefined, n = 1): void {
    if (ok) this.done += n;
    else this.failed += n;
    if (device !== undefined) this.perDevice.set(device, (this.perDevice.get(device) ?? 0) + n);
  }

  get elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }
}

/** Counts of a run as it goes, for the progress display and the summary. */
export class RunTally extends ItemTally {
  peakRss = 0;

  sampleRss(): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
  }

  summary(model: string, pool: Pool, outcome: RunSummary['outcome'], threads: { readerThread: boolean; writerThread: boolean }): RunSummary {
    this.sampleRss();
    const wall = this.elapsedSeconds;
    const byKey = new Map<string, { name: string; peak: number; total: number }>();
    for (const u of pool.devices.values()) byKey.set(u.device.key, { name: u.device.name, peak: u.peakUsed, total: u.device.memoryTotal });
    const workerLimits = workerLimitsByDevice(pool.workers);
    const devices = [...this.perDevice.entries()].map(([key, items]) => {
      const first = key.split('+')[0];
      const d = byKey.get(first);
      const workers = pool.workers.filter((w) => w.deviceKey === key);
      const batches = workers.reduce((n, w) => n + w.batches, 0);
      const outOfMemoryBatches = workers.reduce((n, w) => n + w.ooms, 0);
      return { key, name: d?.name ?? key, items, itemsPerSecond: items / wall, peakMemoryUsed: d?.peak ?? 0, memoryTotal: d?.total ?? 0, batches, outOfMemoryBatches };
    });
    return {
      model,
      done: this.done,
      failed: this.failed,
      resumed: this.resumed,
      resumedFailed: this.resumedFailed,
      wallSeconds: wall,
      itemsPerSecond: (this.done + this.failed) / wall,
      devices,
      workers: pool.workers.length,
      workerRestarts: pool.workers.reduce((n, w) => n + w.supervisor.restarts, 0),
      batchLimits: deviceLimits(workerLimits),
      workerBatchLimits: workerLimits,
      ...(this.failedByCode.size > 0 ? { failedByCode: Object.fromEntries(this.failedByCode) } : {}),
      outcome,
      peakRssBytes: this.peakRss,
      readerThread: threads.readerThread,
      writerThread: threads.writerThread,
    };
  }
}
