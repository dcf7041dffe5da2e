import http from 'node:http';
import https from 'node:https';
import { ERROR_CODES, GpupoolError, isGpupoolError, type ErrorCode } from '../../errors/index.js';
import { foreignHttpError } from './foreign-http-error.js';

/** A model as `GET /v1/models` lists it: what `gpupool infer` reads of it. */
export interface ServedModelInfo {
  readonly name: string;
  /** `process` (gpupool's batcher answers /infer) or `http` (its own server's routes, proxied). */
  readonly kind: string;
  /** Items of online requests it queues or runs at most (--max-queued); 0 for `kind: http`. */
  readonly maxQueued: number;
}

/** The server's HTTP API, with its error bodies turned back into registry errors. */
export class ServerClient {
  /**
   * `timeoutMs`: the deadline of each infer request (--timeout). Every request, the first ones
   * that only read the server's models included, gives up on a server silent for that long and
   * some (300 s without it).
   */
  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
    private readonly timeoutMs?: number,
  ) {}

  /** How long a request may go without a byte from the server: a request's own deadline, and some. */
  private get idleMs(): number {
    return this.timeoutMs === undefined ? DEFAULT_IDLE_MS : this.timeoutMs + DEADLINE_SLACK_MS;
  }

  async models(): Promise<ServedModelInfo[]> {
    const models = await this.request('GET', '/v1/models');
    if (!Array.isArray(models)) throw this.notGpupool('/v1/models', 'a list of models');
    return models as ServedModelInfo[];
  }

  /**
   * Most inputs one infer request may carry (`--max-inputs`), as the server's OpenAPI document
   * gives it: `maxItems` of the infer body's `inputs`, the schema it validates requests
   * against. Undefined when the document does not say, or is not there (a proxy in front that
   * passes only /v1/… on).
   */
  async maxInputsPerRequest(): Promise<number | undefined> {
    let document: OpenApiInferBody | null;
    try {
      document = (await this.request('GET', '/openapi.json')) as OpenApiInferBody | null;
    } catch (err) {
      if (isGpupoolError(err) && (err.code === 'GPUPOOL_E_HTTP_STATUS' || err.code === 'GPUPOOL_E_NOT_FOUND')) return undefined;
      throw err;
    }
    const max = document?.paths?.['/v1/models/{model}/infer']?.post?.requestBody?.content?.['application/json']?.schema?.properties?.inputs?.maxItems;
    return typeof max === 'number' && Number.isInteger(max) && max >= 1 ? max : undefined;
  }

  /**
   * One infer request. Refused for load (429 GPUPOOL_E_OVERLOADED: other clients fill the queue)
   * or while no worker is ready (503 GPUPOOL_E_NOT_READY: a worker restarting), it is sent again
   * after the server's Retry-After, for up to {@link RETRY_FOR_MS} in all: nothing of a refused
   * request ran, so sending it again runs no input twice.
   */
  async infer(model: string, inputs: unknown[]): Promise<unknown[]> {
    const route = `/v1/models/${encodeURIComponent(model)}/infer`;
    const body = { inputs, ...(this.timeoutMs ? { timeout_ms: this.timeoutMs } : {}) };
    const giveUpAt = Date.now() + RETRY_FOR_MS;
    let answer: { outputs?: unknown } | null;
    for (;;) {
      try {
        answer = (await this.request('POST', route, body, true)) as { outputs?: unknown } | null;
        break;
      } catch (err) {
        const waitMs = retryAfterMs(err);
        if (waitMs === undefined || Date.now() + waitMs > giveUpAt) throw err;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
    if (!Array.isArray(answer?.outputs) || answer.outputs.length !== inputs.length) throw this.notGpupool(route, `{"outputs": [...]} with ${inputs.length} outputs`);
    return answer.outputs as unknown[];
  }

  /** `keepOutputs`: an error body that carries per-input outputs (every input failed) is returned, not thrown. */
  private async request(method: string, route: string, body?: unknown, keepOutputs = false): Promise<unknown> {
    const idleMs = this.idleMs;
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
      if (status < 200 || status >= 300) throw foreignHttpError(`${this.url}${route}`, status, text);
      throw new GpupoolError('GPUPOOL_E_SERVER_UNREACHABLE', `${this.url}${route} answered ${status} with a body that is not JSON; is it a gpupool server? ${text.slice(0, 120)}`);
    }
    if (status >= 200 && status < 300) return json;
    const e = (json ?? {}) as { code?: unknown; message?: unknown; outputs?: unknown };
    if (keepOutputs && Array.isArray(e.outputs)) return { outputs: e.outputs };
    // Only a body of gpupool's own is one of its errors; any other (a `kind: http` model's
    // server, a proxy in front) is shown as it came, not taken for a bug of gpupool's.
    if (typeof e.code !== 'string' || !Object.hasOwn(ERROR_CODES, e.code)) throw foreignHttpError(`${this.url}${route}`, status, text);
    const retryAfterS = res.retryAfter === undefined ? undefined : Number(res.retryAfter);
    throw new GpupoolError(e.code as ErrorCode, `${typeof e.message === 'string' ? e.message : `HTTP ${status}`} (from ${this.url})`, {
      ...(retryAfterS !== undefined && Number.isFinite(retryAfterS) && retryAfterS >= 0 ? { details: { retryAfterS } } : {}),
    });
  }

  /** A 2xx answer that is not what gpupool serve sends there. */
  private notGpupool(route: string, expected: string): GpupoolError {
    return new GpupoolError('GPUPOOL_E_SERVER_UNREACHABLE', `${this.url}${route} answered, but not ${expected} as gpupool serve does; is it a gpupool server?`);
  }
}

/** The path through the OpenAPI document to the bound on an infer request's inputs; any step may be missing. */
interface OpenApiInferBody {
  paths?: Record<string, { post?: { requestBody?: { content?: Record<string, { schema?: { properties?: { inputs?: { maxItems?: unknown } } } }> } } }>;
}

/** How long an infer request refused for load or readiness is sent again, in all. */
const RETRY_FOR_MS = 120_000;
/** The longest wait between two sends, whatever Retry-After says. */
const MAX_RETRY_WAIT_MS = 10_000;
const RETRIED: readonly ErrorCode[] = ['GPUPOOL_E_OVERLOADED', 'GPUPOOL_E_NOT_READY'];

/** How long to wait before sending a refused request again, or undefined for an error that is not retried. */
function retryAfterMs(err: unknown): number | undefined {
  if (!isGpupoolError(err) || !RETRIED.includes(err.code)) return undefined;
  const seconds = (err.details as { retryAfterS?: number } | undefined)?.retryAfterS ?? 1;
  return Math.min(MAX_RETRY_WAIT_MS, Math.max(100, seconds * 1000));
}

/** Without --timeout, as long as fetch waited for an answer's headers. */
const DEFAULT_IDLE_MS = 300_000;
/** With --timeout, the server answers the deadline itself: this long more for that answer to come. */
const DEADLINE_SLACK_MS = 5_000;

interface Exchanged {
  readonly status: number;
  readonly text: string;
  readonly location?: string;
  readonly retryAfter?: string;
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
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), location: res.headers.location, retryAfter: res.headers['retry-after'] }));
      res.on('error', reject);
    });
    req.setTimeout(idleMs, () => req.destroy(Object.assign(new Error(`no answer in ${idleMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}
