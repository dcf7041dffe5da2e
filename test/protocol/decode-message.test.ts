import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWorkerMessage, MalformedMessageError, resultLinesJson } from '../../src/protocol/index.js';

test('a result_lines frame keeps each output as its JSON text', () => {
  const outputs = [{ text: 'a\nb' }, null, [1, 2], 'x'];
  const payload = resultLinesJson({ type: 'result_lines', id: 7, count: 4, errors: { 1: { message: 'empty' } } }, outputs.map((o) => JSON.stringify(o)));
  const msg = decodeWorkerMessage(payload);
  assert.equal(msg.type, 'result_lines');
  if (msg.type !== 'result_lines') return;
  assert.equal(msg.id, 7);
  assert.deepEqual(msg.errors, { 1: { message: 'empty' } });
  assert.deepEqual(msg.outputsJson, ['{"text":"a\\nb"}', 'null', '[1,2]', '"x"']);
  assert.deepEqual(msg.outputsJson.map((j) => JSON.parse(j) as unknown), outputs);
});

test('an empty result_lines frame has no outputs', () => {
  const msg = decodeWorkerMessage(resultLinesJson({ type: 'result_lines', id: 1, count: 0 }, []));
  assert.deepEqual(msg.type === 'result_lines' && msg.outputsJson, []);
});

test('a result_lines frame whose line count disagrees with its header is refused, naming both', () => {
  const payload = '{"type":"result_lines","id":3,"count":3}\n1\n2';
  assert.throws(() => decodeWorkerMessage(payload), (err: Error) => err instanceof MalformedMessageError && /announces 3 outputs but carries 2 lines/.test(err.message));
});

test('classic messages decode as JSON, pretty-printed ones too', () => {
  assert.deepEqual(decodeWorkerMessage('{"type":"result","id":1,"outputs":[1]}'), { type: 'result', id: 1, outputs: [1] });
  assert.deepEqual(decodeWorkerMessage('{\n  "type": "ready"\n}'), { type: 'ready' });
});

test('a frame that is not a JSON object is refused, quoting its start', () => {
  assert.throws(() => decodeWorkerMessage('not json'), /not a JSON object: not json/);
  assert.throws(() => decodeWorkerMessage('42'), /not a JSON object/);
});
