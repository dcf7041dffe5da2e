import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GpupoolError, isGpupoolError } from '../errors/index.js';

/** The one error body of every route: `{statusCode, code, error, message}` (Fastify's shape, gpupool's codes). */
export interface ErrorBody {
  readonly statusCode: number;
  readonly code: string;
  /** The status's reason phrase, as Fastify writes it. */
  readonly error: string;
  readonly message: string;
}

export function errorBody(err: GpupoolError): ErrorBody {
  const statusCode = err.httpStatus;
  return { statusCode, code: err.code, error: STATUS_CODES[statusCode] ?? 'Error', message: err.message };
}

/** Sends `err` as the error body, with `Retry-After` where the error says when to come back. */
export function sendError(reply: FastifyReply, err: GpupoolError, outputsJson?: string): void {
  const body = JSON.stringify(errorBody(err));
  const retryAfter = err.details?.retryAfter;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  if (err.code === 'GPUPOOL_E_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="gpupool"');
  reply
    .code(err.httpStatus)
    .type('application/json; charset=utf-8')
    .send(outputsJson === undefined ? body : `${body.slice(0, -1)},"outputs":[${outputsJson}]}`);
}

/** Any error a route or Fastify raised, as a registry error whose message names the bad value. */
export function toGpupoolError(err: unknown, request: FastifyRequest, bodyLimit: number): GpupoolError {
  if (isGpupoolError(err)) return err;
  const e = err as FastifyError & { validationContext?: string };
  if (e.validation) return new GpupoolError('GPUPOOL_E_BAD_REQUEST', describeValidation(e, request));
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GpupoolError('GPUPOOL_E_BODY_TOO_LARGE', `the request body is larger than this server takes: ${bodyLimit} bytes (--body-limit)`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = request.headers['content-type'] ?? '(none)';
      // POST /v1/jobs also takes a JSONL body (its own parser); every other route, JSON alone.
      const jobs = request.method === 'POST' && request.url.split('?')[0] === '/v1/jobs';
      const accepted = jobs ? 'application/json, or application/x-ndjson for a JSONL body' : 'application/json';
      return new GpupoolError('GPUPOOL_E_UNSUPPORTED_MEDIA_TYPE', `Content-Type "${type}" is not accepted by ${request.method} ${request.url}: send ${accepted}`);
    }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GpupoolError('GPUPOOL_E_BAD_REQUEST', 'the body is empty but Content-Type says application/json: send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new GpupoolError('GPUPOOL_E_BAD_REQUEST', 'the body is not valid JSON');
  }
  if (err instanceof SyntaxError) return new GpupoolError('GPUPOOL_E_BAD_REQUEST', `the body is not valid JSON: ${err.message}`);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new GpupoolError('GPUPOOL_E_BAD_REQUEST', e.message);
  }
  return new GpupoolError('GPUPOOL_E_INTERNAL', (err as Error)?.stack ?? String(err));
}

/** `body/inputs must be array, got "abc"`: Ajv's message plus the value it refused. */
function describeValidation(e: FastifyError & { validationContext?: string }, request: FastifyRequest): string {
  const context = e.validationContext ?? 'body';
  const parts = (e.validation ?? []).map((v) => {
    const where = `${context}${v.instancePath}`;
    const params = v.params as Record<string, unknown>;
    if (v.keyword === 'additionalProperties') return `${where} has an unknown field "${String(params.additionalProperty)}"`;
    const value = valueAt((request as unknown as Record<string, unknown>)[context], v.instancePath);
    const got = value === undefined ? '' : `, got ${preview(value)}`;
    const allowed = v.keyword === 'enum' ? ` (${(params.allowedValues as unknown[]).map((a) => JSON.stringify(a)).join(', ')})` : '';
    return `${where} ${v.message}${allowed}${got}`;
  });
  return parts.join('; ') || e.message;
}

function valueAt(root: unknown, pointer: string): unknown {
  let v = root;
  for (const raw of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
