import { STATUS_CODES } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { readiness, workerViews } from '../live-views.js';
import { errors, readinessSchema } from '../schemas.js';
import { sharedSchemas } from '../schemas.js';
import type { RouteContext } from './route-context.js';

/** Health, readiness, devices, workers, Prometheus metrics and the OpenAPI document. */
export function registerStatusRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { core, metrics, options } = ctx;

  app.get('/healthz', {
    schema: {
      summary: 'The server process is alive (it answers even while models load)',
      tags: ['status'],
      response: { 200: { type: 'object', properties: { status: { type: 'string' }, phase: { type: 'string' }, uptimeSeconds: { type: 'integer' } } } },
    },
  }, async () => ({ status: 'ok', phase: core.phase, uptimeSeconds: Math.round((Date.now() - core.startedAt) / 1000) }));

  const notReady = {
    type: 'object',
    properties: { ...readinessSchema.properties, statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } },
  };
  app.get('/readyz', {
    schema: {
      summary: 'Ready when every model has a worker that takes work',
      description: '503 while models load, while a model\'s every worker is dead or restarting, and while the server shuts down: a load balancer stops sending work to a server that cannot do it.',
      tags: ['status'],
      response: { 200: readinessSchema, 503: notReady, ...errors(401) },
    },
  }, async (_request, reply) => {
    const r = readiness(core);
    if (r.ready) return r;
    const waiting = Object.entries(r.models).filter(([, m]) => !m.ready).map(([name, m]) => `"${name}" (${m.readyWorkers} of ${m.workers} workers ready)`);
    const message = core.phase !== 'ready' ? `the server is ${core.phase}` : `no ready worker for model ${waiting.join(', ')}`;
    reply.code(503).header('retry-after', '5');
    return { statusCode: 503, code: 'GPUPOOL_E_NOT_READY', error: STATUS_CODES[503], message, ...r };
  });

  app.get('/v1/devices', {
    schema: {
      summary: 'Every device: memory split between this server\'s workers and everyone else, utilisation, processes',
      tags: ['status'],
      response: { 200: { type: 'array', items: { $ref: 'Device#' } }, ...errors(401) },
    },
  }, async () => core.monitor.latest);

  app.get('/v1/workers', {
    schema: {
      summary: 'Every worker (and replica): state, batch limits, items/s, restarts',
      tags: ['status'],
      response: { 200: { type: 'array', items: { $ref: 'Worker#' } }, ...errors(401) },
    },
  }, async () => workerViews(core));

  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics',
      tags: ['status'],
      produces: ['text/plain'],
      response: { 200: { type: 'string', description: 'Prometheus text exposition format' }, ...errors(401) },
    },
  }, async (_request, reply) => {
    const text = await metrics.text();
    reply.type(metrics.registry.contentType);
    return text;
  });

  let document: Record<string, unknown> | undefined;
  app.get('/openapi.json', {
    schema: { summary: 'This document', tags: ['status'], response: { 200: { type: 'object', additionalProperties: true } } },
  }, async () => {
    document ??= ctx.openapi.document(
      { title: 'gpupool serve', version: '0.1.0', description: 'Online inference with dynamic batching, batch jobs, devices and workers of one gpupool server. Errors: docs/errors.md.' },
      sharedSchemas,
      options.token !== undefined,
    );
    return document;
  });
}
