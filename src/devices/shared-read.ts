/**
 * Coalesces reads of one tool invocation: calls made while a read is in flight, or within
 * `maxAgeMs` after it finished, share its result. A snapshot asks a provider for samples
 * and processes at once; where one `npu-smi info` answers both, it runs once, not twice.
 */
export function sharedRead<T>(read: () => Promise<T>, maxAgeMs = 250): () => Promise<T> {
  let pending: Promise<T> | undefined;
  let doneAt = 0;
  return () => {
    if (pending && (doneAt === 0 || Date.now() - doneAt <= maxAgeMs)) return pending;
    doneAt = 0;
    const current = read().then(
      (value) => {
        if (pending === current) doneAt = Date.now();
        return value;
      },
      (err: unknown) => {
        // A failure is not remembered: the next call tries again.
        if (pending === current) pending = undefined;
        throw err;
      },
    );
    pending = current;
    return current;
  };
}
