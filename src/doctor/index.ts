export * from './doctor-finding.js';
export * from './check-drivers.js';
export * from './check-visibility.js';
export * from './check-fit.js';
export * from './check-ports.js';
export * from './check-strays.js';
export * from './run-doctor.js';
export * from './render-findings.js';
