import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from '../config/index.js';
import type { Pool } from '../pool/index.js';
import type { RunSummary } from './run-options.js';
import type { RunTally } from './run-tally.js';
import type { InputSource } from './sources/index.js';

const GiB = 1024 ** 3;

/**
 * The run's progress: in a terminal, a live bar (items, items/s, ETA) with a memory bar per
 * device; otherwise a plain line every few seconds (logs, CI). Then the summary.
 */
export class ProgressReporter {
  private timer?: NodeJS.Timeout;
  private multi?: cliProgress.MultiBar;
  private main?: cliProgress.SingleBar;
  private deviceBars = new Map<string, cliProgress.SingleBar>();
  /** The first plain line comes at the first tick (1 s), then one every 5 s. */
  private lastPlain = -Infinity;
  private readonly mode: 'tty' | 'plain' | 'none';

  constructor(
    mode: 'tty' | 'plain' | 'none' | undefined,
    private readonly out: NodeJS.WritableStream,
    private readonly pool: Pool,
    private readonly tally: RunTally,
    private readonly source: InputSource,
    /** `--shard I/N`: N. The estimate from the bytes read counts every line; the run takes one in N. */
    private readonly shards = 1,
  ) {
    this.mode = progressMode(mode, out);
  }

  start(): void {
    if (this.mode === 'tty') {
      this.multi = new cliProgress.MultiBar(
        { stream: this.out as NodeJS.WriteStream, hideCursor: true, clearOnComplete: false, barsize: 24, format: '{bar} {label}', autopadding: true },
        cliProgress.Presets.shades_classic,
      );
      this.main = this.multi.create(1, 0, { label: '' });
      for (const u of this.pool.devices.values()) {
        this.deviceBars.set(u.device.uuid, this.multi.create(Math.max(1, u.device.memoryTotal / GiB), 0, { label: '' }));
      }
    }
    this.timer = setInterval(() => this.tick(), this.mode === 'tty' ? 250 : 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.mode === 'tty') {
      this.tick();
      this.multi?.stop();
    }
  }

  /** The inputs, once all are read; until then an estimate from the bytes read (shown with "~"), where the source can tell. */
  private total(): { readonly n: number; readonly exact: boolean } | undefined {
    if (this.tally.readAll) return { n: this.tally.inputs, exact: true };
    const frac = this.source.fractionRead();
    const seen = this.tally.read;
    return frac && frac > 0 && seen > 0 ? { n: Math.round(seen / frac / this.shards), exact: false } : undefined;
  }

  private tick(): void {
    const t = this.tally;
    t.sampleRss();
    const finished = t.done + t.failed;
    const rate = finished / Math.max(1e-3, t.elapsedSeconds);
    const known = this.total();
    const total = known?.n;
    const left = total !== undefined ? Math.max(0, total - t.resumed - finished) : undefined;
    const eta = left !== undefined && rate > 0 ? formatDuration((left / rate) * 1000) : '?';
    const of = known && known.n > 0 ? `/${known.exact ? '' : '~'}${(known.n - t.resumed).toLocaleString('en-US')}` : '';
    const head = `${finished.toLocaleString('en-US')}${of} items | ${t.failed} failed | ${formatRate(rate)} items/s | ETA ${eta}`;
    if (this.mode === 'tty') {
      this.main?.setTotal(Math.max(1, (total ?? finished) - t.resumed));
      this.main?.update(finished, { label: head });
      for (const u of this.pool.devices.values()) {
        const bar = this.deviceBars.get(u.device.uuid);
        const used = u.sample?.memoryUsed ?? 0;
        const items = t.perDevice.get(u.device.key) ?? 0;
        bar?.update(used / GiB, { label: `${u.device.key.padEnd(7)} ${formatBytes(used)} / ${formatBytes(u.device.memoryTotal)} | ${items.toLocaleString('en-US')} items` });
      }
    } else if (this.mode === 'plain' && performance.now() - this.lastPlain >= 5000) {
      this.lastPlain = performance.now();
      this.out.write(`[gpupool] ${head}\n`);
    }
  }

  summary(s: RunSummary): void {
    if (this.mode !== 'none') this.out.write(formatRunSummary(s));
  }
}

/** `--progress` as given, or by where it goes: a live bar in a terminal, plain lines elsewhere. */
export function progressMode(mode: 'tty' | 'plain' | 'none' | undefined, out: NodeJS.WritableStream): 'tty' | 'plain' | 'none' {
  return mode ?? ((out as NodeJS.WriteStream).isTTY ? 'tty' : 'plain');
}

/** The summary's lines, as a run ends: items, rate, each device, workers and host memory. */
export function formatRunSummary(s: RunSummary): string {
  const lines = [
    `${s.outcome === 'complete' ? 'done' : s.outcome}: ${s.done.toLocaleString('en-US')} items ok, ${s.failed.toLocaleString('en-US')} failed${s.resumed ? `, ${s.resumed.toLocaleString('en-US')} already done before${s.resumedFailed ? ` (${s.resumedFailed.toLocaleString('en-US')} of them failed)` : ''}` : ''} in ${formatDuration(s.wallSeconds * 1000)} (${formatRate(s.itemsPerSecond)} items/s)`,
    ...(s.failedByCode ? [`  failed: ${Object.entries(s.failedByCode).map(([code, f]) => `${f.count.toLocaleString('en-US')} ${code} (first: ${typeof f.firstId === 'number' ? `line ${f.firstId}` : f.firstId})`).join(', ')}`] : []),
    ...s.devices.map(
      (d) => `  ${d.key.padEnd(8)} ${d.name.slice(0, 28).padEnd(28)} ${d.items.toLocaleString('en-US').padStart(10)} items  ${formatRate(d.itemsPerSecond).padStart(9)} items/s  peak ${formatBytes(d.peakMemoryUsed)} of ${formatBytes(d.memoryTotal)}  batch limit ${s.workerBatchLimits[d.key]?.join('/') ?? '-'}${d.outOfMemoryBatches > 0 ? ` (${d.outOfMemoryBatches} out-of-memory batch${d.outOfMemoryBatches === 1 ? '' : 'es'})` : ''}`,
    ),
    `  ${s.workers} worker${s.workers === 1 ? '' : 's'}, ${s.workerRestarts} restart${s.workerRestarts === 1 ? '' : 's'}; host peak RSS ${formatBytes(s.peakRssBytes)}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Slow models (OCR: ~2 pages/s) need decimals; fast ones need thousands separators. */
function formatRate(perSecond: number): string {
  if (perSecond < 10) return perSecond.toFixed(2);
  if (perSecond < 100) return perSecond.toFixed(1);
  return Math.round(perSecond).toLocaleString('en-US');
}
