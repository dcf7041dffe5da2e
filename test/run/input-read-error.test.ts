// A read error of an input (a system error) becomes GPUPOOL_E_INPUT_READ naming the input and the
// system's reason; anything else is left alone (a bug keeps its stack as GPUPOOL_E_INTERNAL).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { inputReadError } from '../../src/run/index.js';

test('system errors become GPUPOOL_E_INPUT_READ, others stay what they are', async () => {
  const eio = await fs.promises.readFile('/proc/self/mem').then(
    () => assert.fail('reading /proc/self/mem at offset 0 should fail'),
    (err: unknown) => err,
  );
  const classified = inputReadError(eio, '/proc/self/mem');
  assert.equal(classified?.code, 'GPUPOOL_E_INPUT_READ');
  assert.equal(classified.exitCode, 8);
  assert.equal(classified.message, 'cannot read the input /proc/self/mem: EIO: i/o error, read');
  assert.equal(classified.cause, eio);
  assert.equal(inputReadError(new TypeError('x is undefined'), 'in.jsonl'), undefined);
  assert.equal(inputReadError(Object.assign(new Error('no syscall'), { code: 'ERR_SOMETHING' }), 'in.jsonl'), undefined);
  assert.equal(inputReadError(undefined, 'in.jsonl'), undefined);
});
