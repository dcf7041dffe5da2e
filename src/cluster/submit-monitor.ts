import type { Redis } from 'ioredis';
import { formatDuration } from '../config/index.js';
import type { InputSource } from '../run/index.js';
import { listAgents, type AgentInfo } from './agent-info.js';
import type { ClusterKeys } from './cluster-keys.js';
import type { OpenChunks } from './open-chunks.js';
import type { SubmitSummary } from './submit-options.js';
import type { SubmitTally } from './result-writer.js';

export interface SubmitMonitorOptions {
  readonly redis: Redis;
  readonly keys: ClusterKeys;
  readonly jobId: string;
  readonly model: string;
  readonly chunkSize: number;
  /** A fixed window (`--max-chunks`); otherwise it follows the live agents. */
  readonly maxChunks?: number;
  readonly tally: SubmitTally;
  readonly open: OpenChunks;
  readonly source: InputSource;
  readonly splits: () => number;
  readonly mode: 'tty' | 'plain' | 'none';
  readonly out: NodeJS.WritableStream;
  /** @defaultValue 1000 */
  readonly everyMs?: number;
  /** Also run on every tick (the job's registration is checked there). */
  readonly onTick?: () => Promise<void>;
  /** Where the warning that no agent runs the model goes. @defaultValue process.stderr */
  readonly warnings?: NodeJS.WritableStream;
  /** How long the job may have no live agent for its model before that warning. @defaultValue 10000 */
  readonly noAgentWarnMs?: number;
}

/** The smallest window: enough for the first agent to find work the moment it joins. */
const MIN_WINDOW = 4;

/** How long a stopping monitor waits for Redis to take the last counts. */
const LAST_PUBLISH_MS = 2000;

/**
 * Once a second: sizes the window of chunks out from the agents' heartbeats (twice what they
 * hold, so a chunk is always waiting for the next free agent, and a new agent finds work at
 * once), publishes the job's progress for `gpupool status`, and shows it.
 */
export class SubmitMonitor {
  #window: number;
  #agents: AgentInfo[] = [];
  #timer?: NodeJS.Timeout;
  #lastPlain = 0;
  #ticking?: Promise<void>;
  #stopped = false;
  /** Since when no live agent runs the model, and whether that was said. */
  #noAgentSince?: number;
  #noAgentWarned = false;

  constructor(private readonly options: SubmitMonitorOptions) {
    this.#window = options.maxChunks ?? MIN_WINDOW;
  }

  /** Chunks out at most, now. */
  get window(): number {
    return this.#window;
  }

  get agents(): number {
    return this.#agents.filter((a) => this.#serves(a)).length;
  }

  async start(): Promise<void> {
    await this.tick();
    this.#timer = setInterval(() => void this.tick(), this.options.everyMs ?? 1000);
    this.#timer.unref();
  }

  /**
   * Stops ticking, and publishes the counts once more: a drain writes results after the last
   * tick, and `status --redis` shows what was published last. Waits for Redis at most
   * {@link LAST_PUBLISH_MS}: a submitter stopping while Redis is away does not hang on it.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#ticking;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, LAST_PUBLISH_MS)));
    await Promise.race([this.#publish().catch(() => undefined), giveUp]);
    clearTimeout(timer);
    if (this.options.mode === 'tty') this.options.out.write(`\r\x1b[K${this.#line()}\n`);
  }

  tick(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#ticking ??= this.#tick().finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    const { redis, keys, open } = this.options;
    try {
      await this.options.onTick?.();
      this.#agents = await listAgents(redis, keys);
      this.#warnIfNoAgent();
      if (this.options.maxChunks === undefined) {
        const held = this.#agents.reduce((n, a) => n + this.#prefetch(a), 0);
        this.#window = Math.max(MIN_WINDOW, 2 * held);
        open.wake();
      }
      await this.#publish();
    } catch {
      // Redis away: the connection watcher says so once; the next tick tries again.
    }
    if (!this.#stopped) this.#show();
  }

  /** The job's counts for `gpupool status --redis`. */
  async #publish(): Promise<void> {
    const { redis, keys, jobId, tally, open } = this.options;
    await redis.hset(keys.progress(jobId), {
      done: tally.done,
      failed: tally.failed,
      resumed: tally.resumed,
      read: tally.read,
      fractionRead: this.options.source.fractionRead() ?? '',
      chunksOut: open.size,
      window: this.#window,
      splits: this.options.splits(),
      duplicates: tally.duplicates,
      stale: tally.stale,
      itemsPerSecond: Math.round(this.#rate()),
      updatedAt: Date.now(),
    });
  }

  /** Once, after a while without any: chunks wait in Redis for an agent that may never come. */
  #warnIfNoAgent(): void {
    if (this.agents > 0) {
      this.#noAgentSince = undefined;
      this.#noAgentWarned = false;
      return;
    }
    const now = Date.now();
    this.#noAgentSince ??= now;
    const after = this.options.noAgentWarnMs ?? 10_000;
    if (this.#noAgentWarned || now - this.#noAgentSince < after) return;
    this.#noAgentWarned = true;
    (this.options.warnings ?? process.stderr).write(
      `gpupool: warning: no live agent runs model "${this.options.model}" under prefix "${this.options.keys.prefix}" (for ${formatDuration(after)}): ` +
        `its chunks wait in Redis until one does (gpupool agent -c CONFIG --redis URL --prefix ${this.options.keys.prefix}); ` +
        `Ctrl-C stops this submitter and leaves them there, and the same command resumes\n`,
    );
  }

  summary(s: SubmitSummary): void {
    if (this.options.mode === 'none') return;
    const n = (x: number): string => Math.round(x).toLocaleString('en-US');
    const lines = [
      `${s.outcome === 'complete' ? 'done' : s.outcome}: ${n(s.done)} items ok, ${n(s.failed)} failed${s.resumed ? `, ${n(s.resumed)} already done before${s.resumedFailed ? ` (${n(s.resumedFailed)} of them failed)` : ''}` : ''} in ${formatDuration(s.wallSeconds * 1000)} (${n(s.itemsPerSecond)} items/s), job ${s.job}`,
      ...Object.entries(s.devices)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([d, items]) => `  ${d.padEnd(32)} ${n(items).padStart(10)} items`),
      `  chunks split after an agent died: ${s.splits}; results that came twice, written once: ${n(s.duplicates)}${s.stale ? `; results of chunks sent before --fresh, dropped: ${n(s.stale)}` : ''}`,
    ];
    this.options.out.write(`${lines.join('\n')}\n`);
  }

  #serves(a: AgentInfo): boolean {
    return a.jobs[this.options.jobId] !== undefined || a.capacity[this.options.model] !== undefined;
  }

  /** Chunks an agent holds of this job: what it says, or what it will say once it takes the job up. */
  #prefetch(a: AgentInfo): number {
    const own = a.jobs[this.options.jobId]?.prefetch;
    if (own !== undefined) return own;
    const capacity = a.capacity[this.options.model];
    return capacity === undefined ? 0 : Math.max(2, Math.ceil((2 * capacity) / this.options.chunkSize));
  }

  #rate(): number {
    const t = this.options.tally;
    return (t.done + t.failed) / Math.max(1e-3, t.elapsedSeconds);
  }

  #line(): string {
    const t = this.options.tally;
    const n = (x: number): string => Math.round(x).toLocaleString('en-US');
    const frac = this.options.source.fractionRead();
    const read = frac !== undefined ? ` | ${Math.floor(frac * 100)}% read` : '';
    return `${n(t.done + t.failed)} items | ${n(t.failed)} failed | ${n(this.#rate())} items/s | ${this.options.open.size}/${this.#window} chunks out | ${this.agents} agents${read}`;
  }

  #show(): void {
    const { mode, out } = this.options;
    if (mode === 'tty') out.write(`\r\x1b[K${this.#line()}`);
    else if (mode === 'plain' && performance.now() - this.#lastPlain >= 5000) {
      this.#lastPlain = performance.now();
      out.write(`[gpupool] ${this.#line()}\n`);
    }
  }
}
