import type { FastifyInstance, FastifyReply } from 'fastify';
import { GpupoolError } from '../../errors/index.js';
import { newWorkItem } from '../../scheduler/index.js';
import { sendError } from '../http-errors.js';
import { InferRequest, type InferResponder } from '../infer-request.js';
import { modelViews } from '../live-views.js';
import { errors, inferBodySchema, inferResponseSchema, modelParams } from '../schemas.js';
import type { RouteContext } from './route-context.js';

interface InferBody {
  inputs: unknown[];
  timeout_ms?: number;
}

/** `GET /v1/models` and `POST /v1/models/{model}/infer`: online inference, batched across clients by the scheduler. */
export function registerInferRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { core, metrics, options } = ctx;

  app.get('/v1/models', {
    schema: {
      summary: 'The models of this server, with their readiness, queue depth and throughput',
      tags: ['inference'],
      response: { 200: { type: 'array', items: { $ref: 'Model#' } } },
    },
  }, async () => modelViews(core));

  app.post<{ Params: { model: string }; Body: InferBody }>('/v1/models/:model/infer', {
    schema: {
      summary: 'Run the model on a list of inputs',
      description:
        'Each input becomes one work item; items from all clients are batched together (batch.max, batch.timeout). Answers when every input is answered: outputs[i] for inputs[i], a failed input holding {"error": {code, message}} in its place. When every input failed the status is the first failure\'s. 429 (queue bound reached) and 503 (not ready) carry Retry-After.',
      tags: ['inference'],
      params: modelParams,
      body: inferBodySchema(options.maxInputsPerRequest, options.requestTimeoutMs),
      response: { 200: inferResponseSchema, ...errors(400, 401, 404, 413, 415, 429, 500, 502, 503, 504, 507) },
    },
  }, (request, reply) => {
    const name = request.params.model;
    const served = core.models.get(name);
    if (!served) {
      sendError(reply, unknownModel(name, ctx));
      return;
    }
    const { inputs } = request.body;
    const count = inputs.length;
    const refusal = served.refuse(count, core.phase === 'closing');
    if (refusal) {
      metrics.rejectedRequest(name, refusal.code);
      core.errors.add(name, refusal.code, refusal.code === 'GPUPOOL_E_OVERLOADED' ? `requests refused: ${served.maxQueued} items queued or running (--max-queued)` : refusal.message);
      sendError(reply, refusal);
      return;
    }
    const scheduler = served.scheduler!;
    const costField = served.config.cost_field;
    const pending = new InferRequest(served, count, responder(reply, name, ctx));
    served.outstanding += count;
    for (let i = 0; i < count; i++) {
      const input = inputs[i];
      scheduler.push(newWorkItem(i, i, JSON.stringify(input) ?? 'null', costOf(input, costField), pending));
    }
    pending.startDeadline(Math.min(request.body.timeout_ms ?? options.requestTimeoutMs, options.requestTimeoutMs));
  });
}

function responder(reply: FastifyReply, model: string, ctx: RouteContext): InferResponder {
  return {
    ok: (body) => void reply.type('application/json; charset=utf-8').send(body),
    fail: (err, outputsJson) => {
      ctx.core.errors.add(model, err.code, err.message);
      sendError(reply, err, outputsJson);
    },
    settled: (outcome, seconds) => ctx.metrics.request(model, outcome, seconds),
  };
}

function unknownModel(name: string, ctx: RouteContext): GpupoolError {
  if (ctx.core.httpModelNames.includes(name)) {
    return new GpupoolError('GPUPOOL_E_NOT_FOUND', `model "${name}" is \`kind: http\`: its own server's routes are proxied under /v1/models/${name}/, not /infer`);
  }
  const all = [...ctx.core.models.keys(), ...ctx.core.httpModelNames];
  return new GpupoolError('GPUPOOL_E_UNKNOWN_MODEL', `unknown model "${name}"; this server runs: ${all.join(', ')}`);
}

/** An input's cost for `batch.max_cost` (pages, tokens…), as `gpupool run` reads it; 1 when absent. */
function costOf(value: unknown, field: string): number {
  if (value !== null && typeof value === 'object') {
    const c = (value as Record<string, unknown>)[field];
    if (typeof c === 'number' && Number.isFinite(c) && c > 0) return c;
  }
  return 1;
}
