import { GpupoolError } from '../errors/index.js';

/**
 * The token of `--token` / `GPUPOOL_TOKEN`, for `serve` and for its clients: empty means none.
 * Visible ASCII only: it travels in `Authorization: Bearer <token>`, whose value ends at the
 * first space, and a header cannot carry a newline or most non-ASCII characters; such a token
 * could never be sent, so it is refused where it is given.
 */
export function checkBearerToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new GpupoolError('GPUPOOL_E_USAGE', '--token (or GPUPOOL_TOKEN) must be visible ASCII characters with no spaces: it travels in an HTTP header');
  }
  return token;
}
