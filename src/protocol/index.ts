export * from './frame-codec.js';
export * from './messages.js';
export * from './decode-message.js';
export * from './split-json-array.js';
