import type { FastifyInstance } from 'fastify';
import { jobResultsStream } from '../job-results.js';
import { errors, jobBodyJson, jobParams, jobQuery } from '../schemas.js';
import type { RouteContext } from './route-context.js';

/** Media types of a JSONL body (inline job inputs, one JSON value per line). */
export const JSONL_TYPES = ['application/x-ndjson', 'application/jsonl'] as const;

const jobRef = { $ref: 'Job#' };

/** Batch jobs: created from inline inputs or a server-side path, journaled, resumed by the next server. */
export function registerJobRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { jobs } = ctx;
  // JSONL is read by POST /v1/jobs alone, so its parser lives in a scope of its own: registered
  // on the app, it made an infer request sent as application/x-ndjson a confusing 400 ("body
  // must be object") instead of the 415 every other media type a route does not declare gets.
  void app.register(async (scope) => registerJobSubmission(scope, ctx));

  app.get('/v1/jobs', {
    schema: { summary: 'Every job of this server, oldest first', tags: ['jobs'], response: { 200: { type: 'array', items: jobRef } } },
  }, async () => jobs.list().map((j) => j.view()));

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', {
    schema: { summary: 'A job\'s state and progress', tags: ['jobs'], params: jobParams, response: { 200: jobRef, ...errors(400, 401, 404) } },
  }, async (request) => jobs.get(request.params.id).view());

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/results', {
    schema: {
      summary: 'A job\'s results as NDJSON, streamed as they are committed',
      description: 'One line per input: {"id", "output"} or {"id", "error": {code, message}}, in the order they finished. The stream follows a running job and ends when the job is final.',
      tags: ['jobs'],
      params: jobParams,
      produces: ['application/x-ndjson'],
      response: { 200: { type: 'string', description: 'NDJSON' }, ...errors(400, 401, 404) },
    },
  }, async (request, reply) => {
    const job = jobs.get(request.params.id);
    reply.type('application/x-ndjson; charset=utf-8');
    return reply.send(jobResultsStream(job));
  });

  app.delete<{ Params: { id: string } }>('/v1/jobs/:id', {
    schema: {
      summary: 'Cancel a job',
      description: 'Reading stops at once; results already committed stay and can still be read. A final job is answered as it is.',
      tags: ['jobs'],
      params: jobParams,
      response: { 200: jobRef, ...errors(400, 401, 404) },
    },
  }, async (request) => (await jobs.cancel(request.params.id)).view());
}

/** `POST /v1/jobs`, with the JSONL body parser it alone needs. */
function registerJobSubmission(scope: FastifyInstance, ctx: RouteContext): void {
  const { jobs } = ctx;
  for (const type of JSONL_TYPES) scope.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
  scope.post<{ Body: { model?: string; inputs?: unknown[]; path?: string } | string; Querystring: { model?: string } }>('/v1/jobs', {
    schema: {
      summary: 'Submit a batch job',
      description:
        'Inputs inline as JSON ({"model", "inputs": [...]}), as a JSONL body (Content-Type: application/x-ndjson, model in ?model=), or a server-side JSONL file or folder ({"model", "path"}) inside an --allow-root folder. Answers 201 with the job; it runs in the background.',
      tags: ['jobs'],
      querystring: jobQuery,
      body: {
        content: {
          'application/json': { schema: jobBodyJson },
          ...Object.fromEntries(JSONL_TYPES.map((t) => [t, { schema: { type: 'string', description: 'One JSON input per line.' } }])),
        },
      },
      response: { 201: jobRef, ...errors(400, 401, 403, 404, 413, 415) },
    },
  }, async (request, reply) => {
    const body = request.body;
    const job =
      typeof body === 'string'
        ? jobs.create({ model: request.query.model, ndjson: body })
        : jobs.create({ model: body.model ?? request.query.model, inputs: body.inputs, path: body.path });
    reply.code(201).header('location', `/v1/jobs/${job.id}`);
    return job.view();
  });
}
