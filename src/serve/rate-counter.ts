/**
 * Counts per key (a model, a worker) in one-interval buckets and keeps the last `keep`
 * intervals: the dashboard's throughput chart and every "items/s" figure. `add` is on the
 * batch path, so it is one map lookup; `tick` runs once per interval.
 */
export class RateCounter {
  private readonly current = new Map<string, number>();
  private readonly history = new Map<string, number[]>();

  constructor(
    /** Intervals kept. @defaultValue 300 */
    readonly keep = 300,
    /** Length of one interval in seconds (the sampling period). @defaultValue 1 */
    readonly intervalSeconds = 1,
  ) {}

  add(key: string, n: number): void {
    this.current.set(key, (this.current.get(key) ?? 0) + n);
  }

  /** Closes the running interval. */
  tick(): void {
    for (const key of this.current.keys()) if (!this.history.has(key)) this.history.set(key, new Array<number>(this.keep).fill(0));
    for (const [key, series] of this.history) {
      series.push(this.current.get(key) ?? 0);
      if (series.length > this.keep) series.shift();
    }
    this.current.clear();
  }

  /** Per second, averaged over the last `intervals` closed intervals. */
  perSecond(key: string, intervals = 3): number {
    const series = this.history.get(key);
    if (!series) return 0;
    let sum = 0;
    for (let i = series.length - intervals; i < series.length; i++) sum += series[i];
    return sum / (intervals * this.intervalSeconds);
  }

  /** Per-second rates of the last `keep` intervals, oldest first (zeros before a key was seen). */
  series(key: string): number[] {
    const series = this.history.get(key);
    return series ? series.map((n) => n / this.intervalSeconds) : new Array<number>(this.keep).fill(0);
  }
}
