export * from './adaptive-batch-limit.js';
export * from './device-limits.js';
export * from './dispatch-target.js';
export * from './item-queue.js';
export * from './model-scheduler.js';
export * from './span-items.js';
export * from './work-item.js';
