import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWorkerMessage, MalformedMessageError, outputTextList, splitJsonArrayBytes } from '../../src/protocol/index.js';

/** Each element's JSON text, from `text[start…]` (`start` in UTF-16 units), or undefined. */
function splitJsonArray(text: string, start = 0): string[] | undefined {
  const slices = splitJsonArrayBytes(Buffer.from(text.slice(start), 'utf8'));
  return slices && outputTextList(slices);
}

test('splitJsonArray gives each element as its own JSON text: nesting, escapes, commas and brackets inside strings', () => {
  const values: unknown[] = [
    { text: 'a, b] c}', q: 'say "hi"', back: 'C:\\dir\\', nl: 'x\ny', uni: 'h\u00e9 ✓' },
    [1, [2, [3, { four: [] }]], {}],
    null,
    true,
    -1.5e-7,
    '',
    '\\',
    '"',
    [],
    {},
  ];
  for (const text of [JSON.stringify(values), JSON.stringify(values, null, 2), ` [ ${values.map((v) => JSON.stringify(v)).join(' ,\n ')} ] `]) {
    const parts = splitJsonArray(text);
    assert.ok(parts, text);
    assert.equal(parts.length, values.length);
    assert.deepEqual(parts.map((p) => JSON.parse(p) as unknown), values);
    for (const p of parts) assert.equal(p, p.trim(), 'no surrounding whitespace');
  }
  assert.deepEqual(splitJsonArray('[]'), []);
  assert.deepEqual(splitJsonArray(' [ ] '), []);
  assert.deepEqual(splitJsonArray('xx[1,2]', 2), ['1', '2']);
});

test('strings of every length around the short-scan limit, with escaped quotes and backslashes at every place, split exactly', () => {
  const values: unknown[] = [];
  for (let len = 0; len <= 80; len++) {
    for (const mark of ['\\', '"', '\\"', ',', ']', '}', 'é']) {
      for (const at of [0, len >> 1, Math.max(0, len - 1), 30, 31, 32, 33]) {
        const base = 'x'.repeat(len);
        values.push(base.slice(0, at) + mark + base.slice(at));
        values.push({ [base.slice(0, at) + mark]: base.slice(at) + mark, n: len });
      }
    }
  }
  const parts = splitJsonArray(JSON.stringify(values));
  assert.ok(parts);
  assert.equal(parts.length, values.length);
  parts.forEach((p, k) => assert.deepEqual(JSON.parse(p), values[k], p));
  // A string that never closes, long or short, with its last quote escaped: refused.
  for (const len of [3, 31, 32, 33, 100]) assert.equal(splitJsonArray(`["${'a'.repeat(len)}\\"]`), undefined, `length ${len}`);
});

test('splitJsonArray refuses a broken structure rather than guess', () => {
  for (const bad of ['', '{}', '[1,2', '[1,,2]', '[,1]', '[1,]', '[1, ]', '[ ,1]', '[1 , , 2]', '[[}]', '[{]}]', '[1] x', '["abc]', '["a\\"]', '[{"a":1]', '[1}', 'null']) {
    assert.equal(splitJsonArray(bad), undefined, bad);
  }
});

test('a result_array frame decodes to each output as JSON text, with its errors', () => {
  const outputs = [{ text: 'a, "b"' }, null, [1, 2]];
  const msg = decodeWorkerMessage(`{"type":"result_array","id":9,"count":3,"errors":{"1":{"message":"empty"}}}\n${JSON.stringify(outputs)}`);
  assert.equal(msg.type, 'result_lines');
  if (msg.type !== 'result_lines') return;
  assert.equal(msg.id, 9);
  assert.deepEqual(msg.errors, { 1: { message: 'empty' } });
  assert.deepEqual(outputTextList(msg.outputs), ['{"text":"a, \\"b\\""}', 'null', '[1,2]']);
});

test('a result_array frame that is not an array, or whose count disagrees, is refused naming what is wrong', () => {
  assert.throws(() => decodeWorkerMessage('{"type":"result_array","id":2,"count":2}\n[1,2'), (e: Error) => e instanceof MalformedMessageError && /result_array 2: what follows the header is not a JSON array: \[1,2/.test(e.message));
  assert.throws(() => decodeWorkerMessage('{"type":"result_array","id":3,"count":3}\n[1,2]'), (e: Error) => e instanceof MalformedMessageError && /result_array 3 announces 3 outputs but carries 2/.test(e.message));
});
