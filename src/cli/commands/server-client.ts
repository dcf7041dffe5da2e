import http from 'node:http';
import https from 'node:https';
import { ERROR_CODES, GpupoolError, type ErrorCode } from '../../errors/index.js';

/** The server's HTTP API, with its error bodies turned back into registry errors. */
export class ServerClient {
  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
  ) {}

  /** How long a request may go without a byte from the server: a request's own deadline, and some. */
  private idleMs(timeoutMs?: number): number {
    return timeoutMs === undefined ? DEFAULT_IDLE_MS : timeoutMs + DEADLINE_SLACK_MS;
  }

  async onlyModel(): Promise<string> {
    const models = (await this.request('GET', '/v1/models')) as { name: string; kind: string }[];
    if (models.length === 1) return models[0].name;
    throw new GpupoolError('GPUPOOL_E_MODEL_REQUIRED', `the server at ${this.url} runs several models (${models.map((m) => m.name).join(', ')}): choose one with -m`);
  }

  async infer(model: string, inputs: unknown[], timeoutMs?: number): Promise<unknown[]> {
    const body = { inputs, ...(timeoutMs ? { timeout_ms: timeoutMs } : {}) };
    const answer = (await this.request('POST', `/v1/models/${encodeURIComponent(model)}/infer`, body, true, this.idleMs(timeoutMs))) as { outputs: unknown[] };
    return answer.outputs;
  }

  /** `keepOutputs`: an error body that carries per-input outputs (every input failed) is returned, not thrown. */
  private async request(method: string, route: string, body?: unknown, keepOutputs = false, idleMs = this.idleMs()): Promise<unknown> {
    let res: Exchanged;
    try {
      const headers: Record<string, string> = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) };
      res = await exchange(this.url + route, method, headers, body === undefined ? undefined : JSON.stringify(body), idleMs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ETIMEDOUT' ? `no answer in ${idleMs / 1000} s (ETIMEDOUT)` : (code ?? (err as Error).message);
      throw new GpupoolError('GPUPOOL_E_SERVER_UNREACHABLE', `could not reach the server at ${this.url}: ${why}`);
    }
    const { status, text, location } = res;
    if (status >= 300 && status < 400) {
      throw new GpupoolError('GPUPOOL_E_SERVER_UNREACHABLE', `${this.url}${route} answered ${status}, a redirect to ${location ?? '(no Location)'}: give --url the address gpupool serve answers on`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new GpupoolError('GPUPOOL_E_SERVER_UNREACHABLE', `${this.url}${route} answered ${status} with a body that is not JSON; is it a gpupool server? ${text.slice(0, 120)}`);
    }
    if (status >= 200 && status < 300) return json;
    const e = json as { code?: string; message?: string; outputs?: unknown[] };
    if (keepOutputs && Array.isArray(e.outputs)) return { outputs: e.outputs };
    const code = (e.code && e.code in ERROR_CODES ? e.code : 'GPUPOOL_E_INTERNAL') as ErrorCode;
    throw new GpupoolError(code, `${e.message ?? `HTTP ${status}`} (from ${this.url})`);
  }
}

/** Without --timeout, as long as fetch waited for an answer's headers. */
const DEFAULT_IDLE_MS = 300_000;
/** With --timeout, the server answers the deadline itself: this long more for that answer to come. */
const DEADLINE_SLACK_MS = 5_000;

interface Exchanged {
  readonly status: number;
  readonly text: string;
  readonly location?: string;
}

/**
 * One HTTP exchange through node:http(s). Not fetch: it refuses the ports the Fetch standard
 * calls "bad" (6666, 6667, 10080, …), on which `gpupool serve` listens all the same. A socket
 * silent for `idleMs` fails with ETIMEDOUT.
 */
function exchange(url: string, method: string, headers: Record<string, string>, body: string | undefined, idleMs: number): Promise<Exchanged> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const sent = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = (target.protocol === 'https:' ? https : http).request(target, { method, headers: sent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), location: res.headers.location }));
      res.on('error', reject);
    });
    req.setTimeout(idleMs, () => req.destroy(Object.assign(new Error(`no answer in ${idleMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}
