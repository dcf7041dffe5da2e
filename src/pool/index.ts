export * from './package-root.js';
export * from './pool-options.js';
export * from './pool-worker.js';
export * from './pool.js';
export * from './worker-env.js';
export * from './measured-need-store.js';
export * from './choose-need.js';
export * from './need-measurer.js';
