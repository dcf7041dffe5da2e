/**
 * JSON schemas of the HTTP API: Fastify validates requests and serialises responses with
 * them, and the OpenAPI document is made from them, so the three cannot drift apart.
 */
import { JOB_ID_PATTERN } from './job-folder.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const nullable = (t: string) => ({ type: [t, 'null'] });

export const errorBodySchema = {
  $id: 'ErrorBody',
  type: 'object',
  description: 'Every error: the HTTP status, a code from docs/errors.md, the reason phrase and a message naming the bad value.',
  properties: { statusCode: int, code: str, error: str, message: str },
  required: ['statusCode', 'code', 'error', 'message'],
} as const;

/** Error responses of a route, by status. */
export function errors(...statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: 'ErrorBody#' }]));
}

export const modelParams = {
  type: 'object',
  properties: { model: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' } },
  required: ['model'],
} as const;

export const jobParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: JOB_ID_PATTERN } },
  required: ['id'],
} as const;

export function inferBodySchema(maxInputs: number, maxTimeoutMs: number) {
  return {
    type: 'object',
    properties: {
      inputs: { type: 'array', minItems: 1, maxItems: maxInputs, description: 'Inputs to the model, one JSON value each, as a worker receives them.' },
      timeout_ms: { type: 'integer', minimum: 1, maximum: maxTimeoutMs, description: `Deadline of this request; at most the server's --request-timeout (${maxTimeoutMs} ms).` },
    },
    required: ['inputs'],
    additionalProperties: false,
  } as const;
}

export const inferResponseSchema = {
  type: 'object',
  description: 'outputs[i] answers inputs[i]; an input that failed alone holds {"error": {"code", "message"}} in its place.',
  properties: { outputs: { type: 'array' } },
  required: ['outputs'],
} as const;

export const jobBodyJson = {
  type: 'object',
  properties: {
    model: { type: 'string', description: 'May be left out when the server runs one model.' },
    inputs: { type: 'array', description: 'Inline inputs, one JSON value each.' },
    path: { type: 'string', minLength: 1, description: 'A JSONL file or a folder on the server, inside an --allow-root folder.' },
  },
  additionalProperties: false,
} as const;

export const jobQuery = {
  type: 'object',
  properties: { model: { type: 'string' }, access_token: str },
} as const;

export const jobViewSchema = {
  $id: 'Job',
  type: 'object',
  properties: {
    id: str,
    model: str,
    state: { type: 'string', enum: ['queued', 'running', 'done', 'cancelled', 'failed'] },
    input: { type: 'object', additionalProperties: true },
    createdAt: str,
    startedAt: nullable('string'),
    finishedAt: nullable('string'),
    total: nullable('integer'),
    done: int,
    failed: int,
    progress: nullable('number'),
    error: { type: ['object', 'null'], properties: { code: str, message: str } },
    waiting: { type: ['string', 'null'], description: 'Why a queued job does not start on this server (its model is not one it runs).' },
    results: { type: 'string', description: 'Where the results stream (NDJSON).' },
  },
  required: ['id', 'model', 'state', 'total', 'done', 'failed', 'progress', 'error', 'waiting', 'input', 'createdAt', 'startedAt', 'finishedAt', 'results'],
} as const;

export const modelViewSchema = {
  $id: 'Model',
  type: 'object',
  properties: {
    name: str,
    kind: { type: 'string', enum: ['process', 'http'] },
    ready: { type: 'boolean' },
    workers: int,
    readyWorkers: int,
    queued: int,
    inflight: int,
    outstanding: int,
    maxQueued: int,
    itemsPerSecond: num,
  },
} as const;

export const workerViewSchema = {
  $id: 'Worker',
  type: 'object',
  properties: {
    id: str,
    model: str,
    kind: str,
    device: str,
    state: str,
    pid: nullable('integer'),
    limit: nullable('integer'),
    maxLimit: nullable('integer'),
    learnedLimit: nullable('integer'),
    itemsPerSecond: num,
    restarts: int,
    ooms: int,
    inflightBatches: int,
  },
} as const;

export const deviceViewSchema = {
  $id: 'Device',
  type: 'object',
  properties: {
    key: str,
    name: str,
    uuid: str,
    vendor: str,
    index: int,
    inUse: { type: 'boolean' },
    memory: {
      type: 'object',
      properties: { total: num, used: num, free: num, workers: num, others: num },
      description: 'Bytes; `workers` is held by this server\'s workers, `others` by everything else.',
    },
    utilization: nullable('number'),
    processes: {
      type: 'array',
      items: { type: 'object', properties: { pid: int, memory: nullable('number'), worker: nullable('string'), ours: { type: 'boolean' } } },
    },
  },
} as const;

export const readinessSchema = {
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    phase: str,
    models: { type: 'object', additionalProperties: { type: 'object', properties: { ready: { type: 'boolean' }, readyWorkers: int, workers: int } } },
  },
} as const;

/** Shared schemas, added to the Fastify instance and to the OpenAPI components. */
export const sharedSchemas = [errorBodySchema, jobViewSchema, modelViewSchema, workerViewSchema, deviceViewSchema] as const;
