import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskRedisUrl, parseRedisUrl } from '../../src/cluster/index.js';

test('maskRedisUrl hides the password and keeps everything else', () => {
  assert.equal(maskRedisUrl('redis://:s3cret@10.0.0.5:6379/2'), 'redis://:***@10.0.0.5:6379/2');
  assert.equal(maskRedisUrl('rediss://worker:p%40ss@redis.example.com:6380'), 'rediss://worker:***@redis.example.com:6380');
  assert.equal(maskRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  assert.equal(maskRedisUrl('redis://user@host'), 'redis://user@host', 'a user name alone is not a secret');
  assert.equal(maskRedisUrl('not a url :pw@x'), 'not a url :pw@x');
  assert.equal(maskRedisUrl('weird//user:pw@host'), 'weird//***@host');
});

test('parseRedisUrl takes redis:// and rediss:// and refuses the rest, masked', () => {
  assert.equal(parseRedisUrl('redis://:pw@h:1/0'), 'redis://:pw@h:1/0');
  assert.equal(parseRedisUrl('rediss://h'), 'rediss://h');
  assert.throws(() => parseRedisUrl('127.0.0.1:6379'), /--redis must be a URL like redis:\/\/host:6379.*got "127\.0\.0\.1:6379"/);
  assert.throws(() => parseRedisUrl('http://:pw@h'), (err: Error) => err.message.includes('http://:***@h') && !err.message.includes(':pw@'));
  assert.throws(() => parseRedisUrl('redis://h/x'), /must be a number/);
});
