export * from './error-codes.js';
export * from './gpupool-error.js';
