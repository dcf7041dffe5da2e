/** One line of the dashboard's "recent errors"; repeats within `COALESCE_MS` are counted, not listed. */
export interface RecentError {
  /** Milliseconds since the epoch of the latest occurrence. */
  time: number;
  /** Where: a worker id, a model, `job <id>`, `HTTP`. */
  readonly source: string;
  readonly code: string;
  readonly message: string;
  count: number;
}

const COALESCE_MS = 10_000;

/** The last `keep` distinct errors, newest first: enough to see what is going wrong at a glance. */
export class RecentErrors {
  private readonly entries: RecentError[] = [];

  constructor(private readonly keep = 50) {}

  add(source: string, code: string, message: string, now = Date.now()): void {
    // A burst of the same failure (429s under load, a bad batch of items) is one line with a count.
    const same = this.entries.find((e) => e.source === source && e.code === code && e.message === message && now - e.time < COALESCE_MS);
    if (same) {
      same.count++;
      same.time = now;
      return;
    }
    this.entries.unshift({ time: now, source, code, message: message.length > 500 ? `${message.slice(0, 500)}…` : message, count: 1 });
    if (this.entries.length > this.keep) this.entries.pop();
  }

  list(): readonly RecentError[] {
    return this.entries;
  }
}
