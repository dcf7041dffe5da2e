import type { RouteOptions } from 'fastify';

interface RouteSchema {
  summary?: string;
  description?: string;
  tags?: string[];
  params?: { properties?: Record<string, unknown>; required?: string[] };
  querystring?: { properties?: Record<string, unknown>; required?: string[] };
  body?: Record<string, unknown> & { content?: Record<string, { schema: unknown }> };
  response?: Record<string, unknown>;
  produces?: string[];
}

declare module 'fastify' {
  /** The OpenAPI fields a route's schema may carry (as @fastify/swagger adds them). */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
    /** Media types of the 200 answer; application/json when absent. */
    produces?: readonly string[];
  }
}

const REF = /^([A-Za-z]+)#$/;

/**
 * The OpenAPI 3.1 document, made from the routes' own schemas as Fastify registers them
 * (`onRoute`), so it lists exactly what the server validates. 3.1 takes JSON Schema as it
 * is; `$ref: "Name#"` (Fastify's shared schemas) becomes `#/components/schemas/Name`.
 */
export class OpenApiCollector {
  private readonly routes: { method: string; url: string; schema: RouteSchema }[] = [];

  onRoute = (route: RouteOptions): void => {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema || route.url.includes('*')) return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') this.routes.push({ method: method.toLowerCase(), url: route.url, schema });
  };

  document(info: { title: string; version: string; description: string }, shared: readonly { $id: string }[], bearer: boolean): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const { method, url, schema } of this.routes) {
      const p = url.replace(/:([A-Za-z_]+)/g, '{$1}');
      const parameters = [
        ...param('path', schema.params),
        ...param('query', schema.querystring),
      ];
      const op: Record<string, unknown> = { summary: schema.summary, description: schema.description, tags: schema.tags, parameters };
      if (schema.body) {
        const content = schema.body.content ?? { 'application/json': { schema: schema.body } };
        op.requestBody = { required: true, content: refs(content) };
      }
      const responses: Record<string, unknown> = {};
      for (const [status, s] of Object.entries(schema.response ?? {})) {
        const type = schema.produces?.[0] ?? 'application/json';
        const body = s as { description?: string; content?: Record<string, unknown> };
        responses[status] = {
          description: body.description ?? (status.startsWith('2') ? 'OK' : 'Error'),
          content: body.content ? refs(body.content) : { [type]: { schema: refs(s) } },
        };
      }
      op.responses = responses;
      (paths[p] ??= {})[method] = op;
    }
    const schemas = Object.fromEntries(shared.map((s) => [s.$id, refs(s)]));
    return {
      openapi: '3.1.0',
      info,
      paths,
      components: { schemas, ...(bearer ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {}) },
      ...(bearer ? { security: [{ bearer: [] }] } : {}),
    };
  }
}

function param(where: 'path' | 'query', s: RouteSchema['params']): unknown[] {
  return Object.entries(s?.properties ?? {}).map(([name, schema]) => ({ name, in: where, required: where === 'path' || (s?.required ?? []).includes(name), schema }));
}

/** Rewrites Fastify `$ref`s to components and drops `$id`. */
function refs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(refs);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$id') continue;
    if (k === '$ref' && typeof v === 'string' && REF.test(v)) out.$ref = `#/components/schemas/${REF.exec(v)![1]}`;
    else out[k] = refs(v);
  }
  return out;
}
