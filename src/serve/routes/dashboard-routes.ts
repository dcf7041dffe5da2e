import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GpupoolError } from '../../errors/index.js';
import { packageRoot } from '../../pool/index.js';
import { sendError } from '../http-errors.js';
import { errors } from '../schemas.js';
import type { RouteContext } from './route-context.js';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
};

/**
 * The dashboard's files (plain HTML, CSS and JS, no build step) live in `src/serve/dashboard/`
 * beside this code; from `dist/` they are found through the package root.
 */
export function dashboardDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, '..', 'dashboard'), path.join(packageRoot(), 'src', 'serve', 'dashboard'), path.join(packageRoot(), 'dashboard')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html')));
}

/** `GET /` (the dashboard), its two assets, and `GET /v1/events` (the live snapshots it draws). */
export function registerDashboardRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const dir = dashboardDir();
  const files = new Map<string, Buffer>();
  if (dir) for (const name of Object.keys(FILES)) files.set(name, fs.readFileSync(path.join(dir, name)));

  const serve = (name: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const body = files.get(name);
    if (!body) {
      sendError(reply, new GpupoolError('GPUPOOL_E_NOT_FOUND', `the dashboard's files are not installed (looked for src/serve/dashboard/${name} under ${packageRoot()})`));
      return reply;
    }
    reply.type(FILES[name]).header('cache-control', 'no-cache');
    // A browser sends no Authorization header for the page's own assets: a token that came in
    // the page's query string is passed on to them (the requester already holds it).
    const token = (request.query as Record<string, unknown>).access_token;
    if (name === 'index.html' && typeof token === 'string') {
      const q = `?access_token=${encodeURIComponent(token)}`;
      return body.toString('utf8').replace('href="dashboard.css"', `href="dashboard.css${q}"`).replace('src="dashboard.js"', `src="dashboard.js${q}"`);
    }
    return body;
  };
  const page = { summary: 'The dashboard', tags: ['dashboard'], produces: ['text/html'], response: { 200: { type: 'string' }, ...errors(401, 404) } };
  app.get('/', { schema: page }, serve('index.html'));
  app.get('/dashboard.css', { schema: { ...page, summary: 'Dashboard style sheet', produces: ['text/css'] } }, serve('dashboard.css'));
  app.get('/dashboard.js', { schema: { ...page, summary: 'Dashboard script', produces: ['text/javascript'] } }, serve('dashboard.js'));

  app.get('/v1/events', {
    schema: {
      summary: 'Live snapshots (server-sent events): devices, workers, models, throughput, recent errors',
      description: 'One `snapshot` event on connect and one per sampling period (1 s by default); the data is the JSON the dashboard draws.',
      tags: ['dashboard'],
      produces: ['text/event-stream'],
      response: { 200: { type: 'string' }, ...errors(401) },
    },
  }, (request, reply) => {
    reply.hijack();
    ctx.feed.add(reply.raw);
  });
}
