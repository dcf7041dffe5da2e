/**
 * Calls `then` when `signal` aborts, or now if it already has: a listener added to an aborted
 * signal is never called, so a Ctrl-C that came while a run was still starting would be lost.
 */
export function onAbort(signal: AbortSignal | undefined, then: () => void): void {
  if (signal?.aborted) then();
  else signal?.addEventListener('abort', then, { once: true });
}
