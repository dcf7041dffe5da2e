import http from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GpupoolError } from '../errors/index.js';
import type { ReplicaSet } from './replica-set.js';
import type { Replica } from './replica.js';

export interface ReplicaProxyOptions {
  /**
   * Models to mount routes for. A name without a set in `sets` yet (its replicas still
   * starting) is answered 503 until one appears: `sets` is read at request time.
   * @defaultValue the keys of `sets` at registration
   */
  readonly models?: readonly string[];
  /**
   * Largest request body passed on, in bytes; larger ones are answered 413.
   * @defaultValue the Fastify instance's `bodyLimit`
   */
  readonly bodyLimit?: number;
}

/** Connection-scoped headers (RFC 9110 §7.6.1) that must not cross a proxy. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/** A broken connection before the answer: an idempotent, bodiless request may go elsewhere. */
const BROKEN = new Set(['ECONNRESET', 'EPIPE']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Adds `/v1/models/{model}/*`, any method, for each replica set: the rest of the path and
 * the query go to a ready replica of that model as they are (`/v1/models/llm/v1/chat/completions`
 * → `/v1/chat/completions`), the body streamed both ways, the replica with the fewest
 * outstanding requests chosen. The answer carries `x-gpupool-replica: <replica id>`.
 *
 * - No replica ready: 503 `GPUPOOL_E_NOT_READY` (`GPUPOOL_E_CRASH_LOOP` once every replica
 *   gave up) with `Retry-After`.
 * - The replica drops the request: 502 `GPUPOOL_E_REPLICA_FAILED`. Tried once on another
 *   replica first where that is safe: the connection was refused (nothing was sent), or
 *   the connection of a bodiless GET, HEAD or OPTIONS broke before an answer.
 * - Longer than the model's `http.request_timeout`: 504 `GPUPOOL_E_DEADLINE`, or the
 *   connection cut if the answer had begun.
 * - A body over `bodyLimit`: 413 `GPUPOOL_E_BODY_TOO_LARGE`.
 * Errors are `{statusCode, code, error, message}`.
 *
 * The routes are per model name (`/v1/models/llm/*`), so they take precedence over a
 * front end's parametric `/v1/models/:model/infer` for these models only. They live in an
 * encapsulated child context, whose catch-all content-type parser leaves bodies unparsed;
 * hooks and error handlers the caller set on `app` before this call apply to them. The
 * keep-alive agent is destroyed when `app` closes; closing the sets is the caller's.
 *
 * Stable signature: `registerReplicaProxy(app, sets, options?)`; `gpupool serve` reaches it
 * through `registerHttpModels` (http-models.ts).
 */
export function registerReplicaProxy(app: FastifyInstance, sets: ReadonlyMap<string, ReplicaSet>, options: ReplicaProxyOptions = {}): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' });
  const bodyLimit = options.bodyLimit ?? app.initialConfig.bodyLimit ?? 1 << 20;
  app.addHook('onClose', async () => agent.destroy());
  void app.register(async (child) => {
    child.removeAllContentTypeParsers();
    child.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    for (const name of options.models ?? [...sets.keys()]) {
      const prefix = `/v1/models/${name}`;
      child.all(`${prefix}/*`, (request, reply) => {
        const set = sets.get(name);
        if (!set) {
          const err = new GpupoolError('GPUPOOL_E_NOT_READY', `model "${name}" is starting: its replicas are not up yet`);
          return void reply.code(err.httpStatus).header('retry-after', '1').send(errorBody(err));
        }
        new ProxiedRequest(request, reply, set, prefix, agent, bodyLimit).begin();
      });
    }
  });
}

/** The error body every gpupool route answers: `error` is the reason phrase, as Fastify's own. */
function errorBody(err: GpupoolError): { statusCode: number; code: string; error: string; message: string } {
  return { statusCode: err.httpStatus, code: err.code, error: http.STATUS_CODES[err.httpStatus] ?? 'Error', message: err.message };
}

/** One request on its way through the proxy: which replica, its body, its deadline. */
class ProxiedRequest {
  private replica?: Replica;
  private upstream?: http.ClientRequest;
  private upstreamResponse?: http.IncomingMessage;
  private readonly body?: Readable;
  private readonly timer: NodeJS.Timeout;
  private finished = false;
  private bodyStarted = false;
  /** An error answer is on its way: `reply.sent` turns true only once it is written (onSend hooks may delay it). */
  private failing = false;

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly set: ReplicaSet,
    private readonly prefix: string,
    private readonly agent: http.Agent,
    private readonly bodyLimit: number,
  ) {
    const h = request.headers;
    const hasBody = h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
    // The catch-all parser hands over the payload (after any preParsing hook); a body on a
    // GET skips the parsers, so it is read from the socket.
    const parsed = request.body as Readable | undefined;
    this.body = !hasBody ? undefined : parsed && typeof parsed.pipe === 'function' ? parsed : request.raw;
    const timeoutMs = set.requestTimeoutMs;
    this.timer = setTimeout(() => this.timeOut(timeoutMs), timeoutMs);
    reply.raw.on('close', () => this.end());
  }

  begin(): void {
    const length = Number(this.request.headers['content-length'] ?? 0);
    if (length > this.bodyLimit) return this.tooLarge(`${length} bytes`);
    this.send(1);
  }

  private send(retries: number, notThis?: Replica): void {
    const replica = this.set.acquire(notThis);
    if (!replica) return this.notReady();
    this.replica = replica;
    const url = this.request.raw.url ?? this.prefix;
    const rest = url.slice(this.prefix.length);
    const upstream = http.request({
      agent: this.agent,
      host: replica.options.host,
      port: replica.port,
      method: this.request.method,
      path: rest.startsWith('/') ? rest : `/${rest}`,
      headers: this.forwardHeaders(replica),
    });
    this.upstream = upstream;
    upstream.on('response', (res) => this.respond(res));
    upstream.on('error', (err: NodeJS.ErrnoException) => this.upstreamFailed(replica, err, retries));
    if (!this.body) return void upstream.end();
    // The body is read only once a connection stands: a refused connection leaves it
    // untouched, so the request can still go to another replica.
    upstream.once('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => this.streamBody(upstream));
      else this.streamBody(upstream);
    });
  }

  private streamBody(upstream: http.ClientRequest): void {
    if (this.finished || upstream.destroyed) return;
    this.bodyStarted = true;
    const body = this.body!;
    let seen = 0;
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > this.bodyLimit && !this.finished) {
        body.unpipe(upstream);
        upstream.destroy();
        body.resume();
        this.tooLarge(`more than ${this.bodyLimit} bytes`);
      }
    });
    body.pipe(upstream);
  }

  private forwardHeaders(replica: Replica): http.OutgoingHttpHeaders {
    const out: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(this.request.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
    out.host = `${replica.options.host}:${replica.port}`;
    const forwarded = this.request.headers['x-forwarded-for'];
    out['x-forwarded-for'] = forwarded ? `${String(forwarded)}, ${this.request.ip}` : this.request.ip;
    return out;
  }

  private respond(res: http.IncomingMessage): void {
    if (this.finished) return void res.resume();
    this.upstreamResponse = res;
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(res.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    headers['x-gpupool-replica'] = this.replica!.id;
    // The replica is done once it has sent the last byte, whatever the client's pace.
    res.once('end', () => this.releaseReplica(true));
    void this.reply.code(res.statusCode ?? 502).headers(headers).send(res);
  }

  private upstreamFailed(replica: Replica, err: NodeJS.ErrnoException, retries: number): void {
    // Also after our own destroy (deadline, body too large): the answer is already chosen.
    if (this.finished || this.failing || this.reply.sent) return;
    if (err.code === 'ECONNREFUSED') replica.suspect();
    const resendable = err.code === 'ECONNREFUSED' ? !this.bodyStarted : !this.body && IDEMPOTENT.has(this.request.method) && BROKEN.has(err.code ?? '');
    if (!this.upstreamResponse && retries > 0 && resendable) {
      this.releaseReplica(false);
      return this.send(retries - 1, replica);
    }
    this.fail(
      new GpupoolError('GPUPOOL_E_REPLICA_FAILED', `replica ${replica.id} (${replica.options.host}:${replica.port}) of model "${this.set.model}" dropped the request: ${err.code ?? err.message}`),
    );
  }

  private notReady(): void {
    const err =
      this.set.down ??
      new GpupoolError('GPUPOOL_E_NOT_READY', `no replica of model "${this.set.model}" is ready (${this.set.describe().map((r) => `${r.id}: ${r.state}`).join(', ')})`);
    this.fail(err, this.set.retryAfterSeconds());
  }

  private tooLarge(what: string): void {
    this.fail(new GpupoolError('GPUPOOL_E_BODY_TOO_LARGE', `the request body for model "${this.set.model}" is ${what}; the limit is ${this.bodyLimit} bytes`));
  }

  private timeOut(ms: number): void {
    this.upstream?.destroy();
    this.fail(new GpupoolError('GPUPOOL_E_DEADLINE', `replica ${this.replica?.id ?? '?'} of model "${this.set.model}" did not answer within ${ms} ms (http.request_timeout)`));
  }

  private fail(err: GpupoolError, retryAfterS?: number): void {
    if (this.failing || this.reply.sent) return;
    this.failing = true;
    // Once the replica's answer has begun (status and headers on their way), no error body
    // can follow it: the connection is cut. (`reply.sent` only says "ended".)
    if (this.upstreamResponse || this.reply.raw.headersSent) return void this.reply.raw.destroy();
    if (retryAfterS !== undefined) void this.reply.header('retry-after', String(retryAfterS));
    void this.reply.code(err.httpStatus).send(errorBody(err));
  }

  /** The client's side is over (answered, or the client went away): free the replica. */
  private end(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    if (!this.upstreamResponse?.complete) this.upstream?.destroy();
    this.releaseReplica(this.upstreamResponse !== undefined);
  }

  private releaseReplica(answered: boolean): void {
    if (!this.replica) return;
    this.set.release(this.replica, answered);
    this.replica = undefined;
  }
}
