// An item a worker fails alone shows the worker's own code when it gave a short tag, else
// gpupool's; a code read back from a cluster chunk becomes the same failure again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureFromShownCode, itemErrorFailure, shownCode } from '../../src/scheduler/index.js';

test("the worker's code is shown in place of gpupool's, which stays for status and exit codes", () => {
  const f = itemErrorFailure({ message: 'image is empty', code: 'EMPTY_IMAGE' });
  assert.deepEqual(f, { code: 'GPUPOOL_E_ITEM_FAILED', message: 'image is empty', workerCode: 'EMPTY_IMAGE' });
  assert.equal(shownCode(f), 'EMPTY_IMAGE');
  assert.equal(shownCode(itemErrorFailure({ message: 'no code' })), 'GPUPOOL_E_ITEM_FAILED');
});

test('a code that is not a short tag is left out; an entry without a message still fails the item', () => {
  for (const code of ['two words', '', 'x'.repeat(65), 'line\nbreak', 'GPUPOOL_E_INPUT_PARSE', 42, null, { a: 1 }]) {
    const f = itemErrorFailure({ message: 'm', code } as never);
    assert.equal(f.workerCode, undefined, JSON.stringify(code));
    assert.equal(shownCode(f), 'GPUPOOL_E_ITEM_FAILED');
  }
  assert.equal(itemErrorFailure({ message: 'm', code: 'a.b:c-d_E9' }).workerCode, 'a.b:c-d_E9');
  assert.match(itemErrorFailure({} as never).message, /no message/);
  assert.match(itemErrorFailure(undefined).message, /no message/);
});

test('a shown code read back: gpupool codes stay codes, any other is the worker\'s', () => {
  assert.deepEqual(failureFromShownCode('GPUPOOL_E_OUT_OF_MEMORY', 'm'), { code: 'GPUPOOL_E_OUT_OF_MEMORY', message: 'm' });
  assert.deepEqual(failureFromShownCode('EMPTY_IMAGE', 'm'), { code: 'GPUPOOL_E_ITEM_FAILED', message: 'm', workerCode: 'EMPTY_IMAGE' });
  // Not an own property of the table of codes, though every object has it.
  assert.equal(failureFromShownCode('toString', 'm').workerCode, 'toString');
});
