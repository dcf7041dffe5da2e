export * from './line-writer-thread.js';
export * from './staged-group.js';
export * from './writer-thread-setting.js';
