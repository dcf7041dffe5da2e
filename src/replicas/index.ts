// `kind: http` models: off-the-shelf servers run once per device, pinned, health-checked,
// restarted, and reached through a balancing proxy. `gpupool serve` composes these.
export * from './free-port.js';
export * from './health-check.js';
export * from './http-models.js';
export * from './replica-launch.js';
export * from './replica-process.js';
export * from './replica-proxy.js';
export * from './replica-set-options.js';
export * from './replica-set.js';
export * from './replica.js';
export * from './start-replica-sets.js';
