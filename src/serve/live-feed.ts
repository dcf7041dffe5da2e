import type { ServerResponse } from 'node:http';
import type { DeviceView } from './device-monitor.js';
import type { JobManager } from './job-manager.js';
import { modelViews, workerViews, type ModelView, type WorkerView } from './live-views.js';
import type { RecentError } from './recent-errors.js';
import type { ServeCore } from './serve-core.js';

/** What the dashboard draws, once per sampling period. */
export interface LiveSnapshot {
  readonly time: number;
  readonly uptimeSeconds: number;
  readonly phase: string;
  readonly ready: boolean;
  readonly models: ModelView[];
  readonly devices: readonly DeviceView[];
  readonly workers: WorkerView[];
  readonly jobs: { readonly queued: number; readonly running: number; readonly done: number; readonly failed: number; readonly cancelled: number };
  /** Items/s per sampling period, oldest first, per model; `intervalSeconds` apart. */
  readonly throughput: { readonly intervalSeconds: number; readonly series: Record<string, number[]> };
  readonly errors: readonly RecentError[];
}

export function liveSnapshot(core: ServeCore, jobs: JobManager): LiveSnapshot {
  const counts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const j of jobs.list()) counts[j.state]++;
  const series: Record<string, number[]> = {};
  for (const name of [...core.models.keys(), ...core.httpModelNames]) series[name] = core.modelRates.series(name);
  return {
    time: Date.now(),
    uptimeSeconds: Math.round((Date.now() - core.startedAt) / 1000),
    phase: core.phase,
    ready: core.ready,
    models: modelViews(core),
    devices: core.monitor.latest,
    workers: workerViews(core),
    jobs: counts,
    throughput: { intervalSeconds: core.modelRates.intervalSeconds, series },
    errors: core.errors.list(),
  };
}

/**
 * Server-sent events to every open dashboard: each gets the latest snapshot on connect,
 * then every new one. A client that cannot keep up (its socket buffer full) skips frames
 * rather than growing the server's memory.
 */
export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private last?: string;

  get size(): number {
    return this.clients.size;
  }

  add(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    if (this.last) res.write(this.last);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  publish(snapshot: LiveSnapshot): void {
    this.last = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
    for (const res of this.clients) if (res.writableLength < 1 << 20) res.write(this.last);
  }

  closeAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
