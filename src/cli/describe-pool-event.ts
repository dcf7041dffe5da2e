import type { PoolEvent } from '../pool/index.js';
import { exitSummary } from '../worker/index.js';

/** The stderr line `gpupool run` and `gpupool serve` print for a pool event; undefined: nothing to say. */
export function describePoolEvent(e: PoolEvent): string | undefined {
  switch (e.type) {
    case 'worker-crashed': {
      const items = `${e.inflightItems} item${e.inflightItems === 1 ? '' : 's'}`;
      if (e.stopped) return `worker ${e.worker} stopped at once; the ${items} it held ${e.inflightItems === 1 ? 'is' : 'are'} left undone`;
      const failed = e.failedItems ?? 0;
      const back = e.inflightItems - failed;
      const ended = failed > 0 ? `, ${failed} failed for good (no attempts left)` : '';
      return `worker ${e.worker} crashed; ${back} item${back === 1 ? '' : 's'} ${back === 1 ? 'goes' : 'go'} back to the queue${ended}: ${exitSummary(e.message, e.logFile)}`;
    }
    case 'worker-gave-up':
    case 'placement-mismatch':
    case 'model-down':
    case 'placement-skipped':
    case 'memory-need':
    case 'need-measured':
    case 'cpus-unpinned':
    case 'release-unanswered':
    case 'stray-cleared':
      return e.message;
    case 'stray':
      // The remedy goes with it: a stray is a fault in the worker's code, not in gpupool.
      return `${new Date().toISOString()} ${e.message}\n  remedy: ${e.stray.remedy}`;
    case 'worker-ready':
      return undefined;
  }
}
