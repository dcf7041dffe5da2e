/**
 * A lean HTTP/1.1 load generator (the autocannon approach): raw keep-alive sockets, one
 * pre-built request, responses parsed by Content-Length. It costs a few microseconds per
 * request, so on a 2-core machine most of the CPU is left to the server under test.
 *
 * - closed loop (`rate` unset): each connection sends its next request when the answer comes;
 * - open loop (`rate` set): requests go out at a fixed rate whatever the server does
 *   (pipelined on a busy connection, so a stall is not hidden: no coordinated omission).
 */
import net from 'node:net';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly body: string;
  readonly connections: number;
  readonly durationMs: number;
  /** Requests per second, open loop; closed loop when unset. */
  readonly rate?: number;
  /** Requests answered in this first stretch are not measured. @defaultValue 0 */
  readonly warmupMs?: number;
  /** Stop after this many measured requests (closed loop). */
  readonly maxRequests?: number;
  /** Closed loop: wait this long after each answer before the next request (low load). @defaultValue 0 */
  readonly gapMs?: number;
  readonly token?: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly statuses: Record<string, number>;
  readonly latencyMs: { p50: number; p90: number; p95: number; p99: number; p999: number; max: number; mean: number };
}

export function buildRequest(o: Pick<LoadOptions, 'host' | 'port' | 'path' | 'body' | 'token'>): Buffer {
  const auth = o.token ? `Authorization: Bearer ${o.token}\r\n` : '';
  return Buffer.from(
    `POST ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nContent-Type: application/json\r\n${auth}Content-Length: ${Buffer.byteLength(o.body)}\r\n\r\n${o.body}`,
  );
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** Parses HTTP/1.1 responses off one socket; calls `onResponse(status)` for each whole one. */
class ResponseParser {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onResponse: (status: number) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const end = this.buf.indexOf(CRLF2);
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!m) throw new Error(`response without Content-Length: ${head.slice(0, 200)}`);
      const total = end + 4 + Number(m[1]);
      if (this.buf.length < total) return;
      const status = Number(head.slice(9, 12));
      this.buf = this.buf.subarray(total);
      this.onResponse(status);
    }
  }
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const request = buildRequest(o);
  const warmupMs = o.warmupMs ?? 0;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const t0 = performance.now();
  const measureFrom = t0 + warmupMs;
  const endAt = measureFrom + o.durationMs;
  let measured = 0;
  let stopped = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));

  const sockets = await Promise.all(
    Array.from({ length: o.connections }, () => new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: o.host, port: o.port, noDelay: true }, () => resolve(s));
      s.once('error', reject);
    })),
  );

  const record = (dueAt: number, status: number) => {
    const now = performance.now();
    if (dueAt >= measureFrom && now <= endAt) {
      latencies.push(now - dueAt);
      statuses[status] = (statuses[status] ?? 0) + 1;
      measured++;
    }
    if ((now > endAt || (o.maxRequests !== undefined && measured >= o.maxRequests)) && !stopped) {
      stopped = true;
      finish();
    }
  };

  if (o.rate === undefined) {
    for (const s of sockets) {
      let sentAt = 0;
      const send = () => {
        if (stopped) return;
        sentAt = performance.now();
        s.write(request);
      };
      const parser = new ResponseParser((status) => {
        record(sentAt, status);
        if (o.gapMs) setTimeout(send, o.gapMs);
        else send();
      });
      s.on('data', (c: Buffer) => parser.push(c));
      sentAt = performance.now();
      s.write(request);
    }
  } else {
    const queues = sockets.map(() => [] as number[]);
    sockets.forEach((s, i) => {
      const parser = new ResponseParser((status) => record(queues[i].shift()!, status));
      s.on('data', (c: Buffer) => parser.push(c));
    });
    const interval = 1000 / o.rate;
    let sent = 0;
    let rr = 0;
    const pace = () => {
      if (stopped) return;
      const now = performance.now();
      const due = Math.floor((now - t0) / interval);
      while (sent < due) {
        // Timed from the write, not from the due time: the difference is this generator's own
        // 1 ms pacing tick, not the server's. A busy connection pipelines, so a stalled server
        // still shows in the latency.
        queues[rr].push(now);
        sockets[rr].write(request);
        rr = (rr + 1) % sockets.length;
        sent++;
      }
      if (now > endAt + 5000) finish(); // answers stopped coming: report what was measured
      else setTimeout(pace, 1);
    };
    pace();
  }
  await done;
  for (const s of sockets) s.destroy();
  const seconds = Math.min(o.durationMs, performance.now() - measureFrom) / 1000;
  return { requests: measured, seconds, requestsPerSecond: measured / seconds, statuses, latencyMs: summarize(latencies) };
}

export function summarize(samples: number[]): LoadResult['latencyMs'] {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => (s.length ? round(s[Math.min(s.length - 1, Math.floor(p * s.length))]) : NaN);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99), p999: q(0.999), max: round(s[s.length - 1] ?? NaN), mean: round(mean) };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
