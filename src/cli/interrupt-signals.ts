/**
 * The two-stage interrupt of the batch commands: the first Ctrl-C (or SIGTERM) drains, a
 * second one stops at once. `dispose` removes the listeners once the command is done. Without
 * a `drainMessage` the command says what its drain does (submit: it depends on whether an agent
 * is there to answer the chunks out).
 */
export function listenForInterrupts(drainMessage?: string): { drain: AbortSignal; kill: AbortSignal; dispose(): void } {
  const drain = new AbortController();
  const kill = new AbortController();
  const onSignal = (): void => {
    if (!drain.signal.aborted) {
      if (drainMessage !== undefined) process.stderr.write(`\ngpupool: ${drainMessage}; press Ctrl-C again to stop at once\n`);
      drain.abort();
    } else {
      kill.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    drain: drain.signal,
    kill: kill.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
