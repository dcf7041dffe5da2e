export * from './answer-polling.js';
export * from './resolve-command.js';
export * from './restart-scheduler.js';
export * from './worker-log.js';
export * from './worker-process-options.js';
export * from './worker-process.js';
export * from './worker-state.js';
export * from './worker-supervisor.js';
