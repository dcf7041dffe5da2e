export * from './file-source.js';
export * from './input-record.js';
export * from './input-state.js';
export * from './jsonl-source.js';
export * from './open-source.js';
export * from './input-read-error.js';
export * from './reader-thread-setting.js';
export * from './threaded-jsonl-source.js';
