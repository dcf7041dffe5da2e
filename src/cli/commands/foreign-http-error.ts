import { STATUS_CODES } from 'node:http';
import { GpupoolError } from '../../errors/index.js';

/** How much of a foreign error body the message quotes: enough for a framework's one-line error, never a whole page. */
const BODY_START = 200;

/**
 * An HTTP error whose body is not one of gpupool's (no registry `code`): from a `kind: http`
 * model's own server, or a proxy between. Said as what it is, its status and the start of its
 * body, rather than as a bug in gpupool.
 */
export function foreignHttpError(url: string, status: number, body: string): GpupoolError {
  const reason = STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : '';
  const text = body.replace(/\s+/g, ' ').trim();
  const start = text === '' ? '(an empty body)' : text.length > BODY_START ? `${text.slice(0, BODY_START)}…` : text;
  return new GpupoolError('GPUPOOL_E_HTTP_STATUS', `${url} answered HTTP ${status}${reason}, an error that is not gpupool's (its body has no gpupool code): ${start}`);
}
