export * from './job-journal.js';
export * from './journal-options.js';
export * from './sqlite-journal.js';
export { readJournalStatus } from './journal-status.js';
export { classifyWriteError } from './journal-errors.js';
export { reconcileOutput } from './output-reconcile.js';
export { stateDirFor, statePaths, type StatePaths } from './state-dir.js';
export { isSeq, MAX_SEQ, SeqSet } from './seq-set.js';
