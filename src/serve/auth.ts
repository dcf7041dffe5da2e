import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestHookHandler } from 'fastify';
import { GpupoolError } from '../errors/index.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Bearer authentication for every route. The token comes in `Authorization: Bearer …`, or,
 * for what a browser cannot send headers with (the dashboard page and its event stream), in
 * the `access_token` query parameter (RFC 6750 §2.3). Compared in constant time, on digests
 * so that the length does not leak either.
 */
export function bearerAuth(token: string): onRequestHookHandler {
  const expected = digest(token);
  return (request, _reply, done) => {
    const header = request.headers.authorization;
    let given: string | undefined;
    if (header !== undefined) {
      given = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
      if (given === undefined) {
        done(new GpupoolError('GPUPOOL_E_UNAUTHORIZED', `the Authorization header must be "Bearer <token>", got a "${header.split(' ')[0]}" header`));
        return;
      }
    } else {
      const q = (request.query as Record<string, unknown> | undefined)?.access_token;
      if (typeof q === 'string') given = q;
    }
    if (given === undefined) {
      done(new GpupoolError('GPUPOOL_E_UNAUTHORIZED', 'this server requires `Authorization: Bearer <token>`; the request carries none'));
    } else if (!timingSafeEqual(digest(given), expected)) {
      done(new GpupoolError('GPUPOOL_E_UNAUTHORIZED', 'the bearer token does not match this server\'s token'));
    } else {
      done();
    }
  };
}
