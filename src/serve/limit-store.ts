import path from 'node:path';
import { openJournal, type SqliteJournal } from '../store/index.js';

/**
 * The server's own journal, `<state dir>/server/`: the batch limits learned per (model,
 * device), so a restarted server starts where the last one settled. Its lock also keeps a
 * second server off the same state directory (GPUPOOL_E_JOURNAL_LOCKED names the first).
 *
 * The pool reports a limit after every batch; writes are gathered and made every
 * `flushEveryMs`, never on the batch path.
 */
export class LimitStore {
  private readonly learned = new Map<string, number>();
  private readonly changed = new Map<string, number>();
  private readonly loaded = new Set<string>();
  private timer?: NodeJS.Timeout;

  private constructor(private readonly journal: SqliteJournal) {}

  static open(stateDir: string, flushEveryMs = 10_000): LimitStore {
    const journal = openJournal({
      stateDir: path.join(stateDir, 'server'),
      identity: { fingerprint: 'gpupool-serve/1', description: { what: 'gpupool serve: learned batch limits', stateDir } },
    });
    const store = new LimitStore(journal);
    store.timer = setInterval(() => store.flush(), flushEveryMs);
    store.timer.unref();
    return store;
  }

  /** The limit remembered for (model, device key), loaded once per model. */
  get(model: string, deviceKey: string): number | undefined {
    const key = `${model}\0${deviceKey}`;
    if (!this.loaded.has(model)) {
      this.loaded.add(model);
      for (const [k, v] of Object.entries(this.journal.learnedLimits(model))) this.learned.set(`${model}\0${k}`, v.limit);
    }
    return this.learned.get(key);
  }

  note(model: string, deviceKey: string, limit: number): void {
    const key = `${model}\0${deviceKey}`;
    if (this.learned.get(key) !== limit) this.changed.set(key, limit);
  }

  flush(): void {
    for (const [key, limit] of this.changed) {
      const [model, deviceKey] = key.split('\0');
      this.journal.saveLearnedLimit(model, deviceKey, limit);
      this.learned.set(key, limit);
    }
    this.changed.clear();
  }

  close(): void {
    clearInterval(this.timer);
    try {
      this.flush();
    } finally {
      this.journal.close();
    }
  }
}
