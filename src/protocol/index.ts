export * from './frame-codec.js';
export * from './messages.js';
