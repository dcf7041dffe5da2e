/** An error's parts that survive a post between threads (an Error keeps only its message). */
export interface PostedError {
  readonly message: string;
  readonly code?: string;
  readonly syscall?: string;
  readonly errno?: number;
  readonly path?: string;
  readonly stack?: string;
}

/** What `inputReadError` and `classifyWriteError` look at, taken off an error before a post. */
export function postableError(err: unknown): PostedError {
  const e = err as { message?: unknown; code?: unknown; syscall?: unknown; errno?: unknown; path?: unknown; stack?: unknown };
  return { message: String(e?.message ?? err), code: str(e?.code), syscall: str(e?.syscall), errno: typeof e?.errno === 'number' ? e.errno : undefined, path: str(e?.path), stack: str(e?.stack) };
}

/** The error again on the receiving side, with its system code. */
export function rebuildError(posted: PostedError): Error {
  const err = new Error(posted.message) as Error & Record<string, unknown>;
  for (const key of ['code', 'syscall', 'errno', 'path'] as const) if (posted[key] !== undefined) err[key] = posted[key];
  if (posted.stack) err.stack = posted.stack;
  return err;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
