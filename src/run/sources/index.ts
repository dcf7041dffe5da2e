export * from './file-source.js';
export * from './input-record.js';
export * from './jsonl-source.js';
export * from './open-source.js';
export * from './input-read-error.js';
