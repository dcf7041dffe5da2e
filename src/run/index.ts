export * from './admission.js';
export * from './check-output.js';
export * from './job-identity.js';
export * from './jsonl-sink.js';
export * from './run-job.js';
export * from './run-options.js';
export * from './run-tally.js';
export * from './sources/index.js';
