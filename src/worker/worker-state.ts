/** starting → ready ⇄ busy → draining → stopped | crashed (a crashed worker may be restarted as a new process). */
export type WorkerState = 'starting' | 'ready' | 'busy' | 'draining' | 'stopped' | 'crashed';

export const WORKER_STATES: readonly WorkerState[] = ['starting', 'ready', 'busy', 'draining', 'stopped', 'crashed'];
