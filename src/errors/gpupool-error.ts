import { ERROR_CODES, type ErrorCode } from './error-codes.js';

/** Every error gpupool raises on purpose: a registry code plus a message naming the bad value. */
export class GpupoolError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GpupoolError';
    this.code = code;
    this.details = options?.details;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }

  get remedy(): string {
    return ERROR_CODES[this.code].remedy;
  }

  /** The HTTP error body shape shared with the CLI's --json output. */
  toJSON(): { statusCode: number; code: ErrorCode; error: string; message: string } {
    return { statusCode: this.httpStatus, code: this.code, error: 'GpupoolError', message: this.message };
  }
}

export function isGpupoolError(err: unknown): err is GpupoolError {
  return err instanceof GpupoolError;
}
