export * from './frame-codec.js';
export * from './messages.js';
export * from './decode-message.js';
export * from './split-json-array.js';
export * from './output-texts.js';
export * from './utf8-text.js';
