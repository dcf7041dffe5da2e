import Fastify, { type FastifyInstance } from 'fastify';
import { GpupoolError } from '../errors/index.js';
import { bearerAuth } from './auth.js';
import { sendError, toGpupoolError } from './http-errors.js';
import { registerDashboardRoutes } from './routes/dashboard-routes.js';
import { registerInferRoutes } from './routes/infer-routes.js';
import { registerJobRoutes } from './routes/job-routes.js';
import type { RouteContext } from './routes/route-context.js';
import { registerStatusRoutes } from './routes/status-routes.js';
import { sharedSchemas } from './schemas.js';

/**
 * The Fastify instance of `gpupool serve`: one error body for every failure, bearer auth on
 * every route when a token is set, JSON schemas on every route (unknown fields are errors,
 * types are never coerced), and the OpenAPI document gathered from those schemas.
 */
export function buildApp(ctx: RouteContext): FastifyInstance {
  const { options } = ctx;
  const app = Fastify({
    logger: options.logRequests ? { level: 'info' } : false,
    bodyLimit: options.bodyLimit,
    // A request on a kept-alive connection during shutdown gets the registry's 503, not Fastify's.
    return503OnClosing: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
  });
  // Only the media types the routes declare: a text/plain body is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRoute', ctx.openapi.onRoute);
  for (const s of sharedSchemas) app.addSchema(s);
  if (options.token !== undefined) app.addHook('onRequest', bearerAuth(options.token));

  app.setErrorHandler((err, request, reply) => {
    const e = toGpupoolError(err, request, options.bodyLimit);
    if (e.code === 'GPUPOOL_E_INTERNAL') {
      ctx.core.errors.add('HTTP', e.code, `${request.method} ${request.url}: ${e.message.split('\n')[0]}`);
      request.log.error(err);
    }
    sendError(reply, e);
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, new GpupoolError('GPUPOOL_E_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; GET /openapi.json lists the routes`));
  });
  app.addHook('preClose', (done) => {
    ctx.feed.closeAll();
    done();
  });

  registerInferRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerStatusRoutes(app, ctx);
  registerDashboardRoutes(app, ctx);
  return app;
}
