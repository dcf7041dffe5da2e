import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWorkerMessage, MalformedMessageError, outputTextList, resultLinesJson } from '../../src/protocol/index.js';

test('a result_lines frame keeps each output as its JSON text', () => {
  const outputs = [{ text: 'a\nb' }, null, [1, 2], 'x'];
  const payload = resultLinesJson({ type: 'result_lines', id: 7, count: 4, errors: { 1: { message: 'empty' } } }, outputs.map((o) => JSON.stringify(o)));
  const msg = decodeWorkerMessage(payload);
  assert.equal(msg.type, 'result_lines');
  if (msg.type !== 'result_lines') return;
  assert.equal(msg.id, 7);
  assert.deepEqual(msg.errors, { 1: { message: 'empty' } });
  const texts = outputTextList(msg.outputs);
  assert.deepEqual(texts, ['{"text":"a\\nb"}', 'null', '[1,2]', '"x"']);
  assert.deepEqual(texts.map((j) => JSON.parse(j) as unknown), outputs);
});

test('an empty result_lines frame has no outputs', () => {
  const msg = decodeWorkerMessage(resultLinesJson({ type: 'result_lines', id: 1, count: 0 }, []));
  assert.deepEqual(msg.type === 'result_lines' && outputTextList(msg.outputs), []);
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

test('outputs keep their text whether the frame is ASCII or not, given as bytes or as a string', () => {
  for (const outputs of [[{ a: 'plain' }, 1, 'x'], [{ a: 'h\u00e9 \u2713 \ud83d\ude00' }, 'caf\u00e9', null]]) {
    const json = outputs.map((o) => JSON.stringify(o));
    const frames = [`{"type":"result_array","id":4,"count":3}\n${JSON.stringify(outputs)}`, resultLinesJson({ type: 'result_lines', id: 4, count: 3 }, json)];
    for (const frame of frames) {
      for (const payload of [frame, Buffer.from(frame, 'utf8')]) {
        const msg = decodeWorkerMessage(payload);
        assert.equal(msg.type, 'result_lines');
        if (msg.type !== 'result_lines') return;
        assert.deepEqual(outputTextList(msg.outputs), json);
        const room = json.reduce((n, _, i) => n + msg.outputs.room(i), 0);
        const buf = Buffer.alloc(room);
        let pos = 0;
        for (let i = 0; i < json.length; i++) pos = msg.outputs.put(buf, pos, i);
        assert.equal(buf.toString('utf8'), json.join(''));
      }
    }
  }
});

test('invalid UTF-8 in the header line does not move where the outputs are read from', () => {
  const bad = (text: string) => Buffer.from(text.replace('@', '\u0000'), 'utf8').map((b) => (b === 0 ? 0xff : b));
  const array = decodeWorkerMessage(Buffer.from(bad('{"type":"result_array","id":1,"count":2,"note":"@@@"}\n[1,2]')));
  assert.deepEqual(array.type === 'result_lines' && outputTextList(array.outputs), ['1', '2']);
  const lines = decodeWorkerMessage(Buffer.from(bad('{"type":"result_lines","id":1,"count":2,"note":"@"}\n1\n2')));
  assert.deepEqual(lines.type === 'result_lines' && outputTextList(lines.outputs), ['1', '2']);
});

test('an output that is not one JSON value is refused, naming it: a result_lines line, or an element of a result_array (as far as its cheap check sees)', () => {
  const refused = (payload: string, message: string | RegExp) =>
    assert.throws(() => decodeWorkerMessage(payload), (err: Error) => err instanceof MalformedMessageError && (typeof message === 'string' ? err.message === message : message.test(err.message)));
  // result_lines: every line is checked whole (an empty line, a word, half an object, two values, NaN).
  for (const line of ['', 'hello', '{', '{"a":1', '1 2', 'NaN', '"open']) {
    refused(`{"type":"result_lines","id":4,"count":2}\n{"ok":1}\n${line}`, `result_lines 4: output 2 of 2 is not one JSON value: ${JSON.stringify(line)}`);
  }
  // Nesting deeper than the quick check follows is parsed, not refused.
  const deep = `${'['.repeat(40)}1${']'.repeat(40)}`;
  const msg = decodeWorkerMessage(`{"type":"result_lines","id":5,"count":2}\n${deep}\n {"a": [true, null]} `);
  assert.deepEqual(msg.type === 'result_lines' && outputTextList(msg.outputs), [deep, ' {"a": [true, null]} ']);
  // result_array: a bare literal or number must be one, by JSON's grammar...
  // (Integers take a quick path of their own: '00', '-01', '0-', '1a' must still be refused.)
  for (const element of ['NaN', 'hello', '1 2', 'nul', 'truex', '-Infinity', '1e', '01', '--1', '1-2', '1.', '-', '00', '-01', '0-', '1a', '-a']) {
    refused(`{"type":"result_array","id":6,"count":2}\n[1, ${element}]`, /^result_array 6: output 2 of 2 is not one JSON value: /);
  }
  // A strict encoder's array (the SDKs' say so): bare values are not checked one by one, the structure still is.
  const strict = decodeWorkerMessage('{"type":"result_array","id":6,"count":3,"strict":true}\n[1,-2.5e3,7]');
  assert.deepEqual(strict.type === 'result_lines' && outputTextList(strict.outputs), ['1', '-2.5e3', '7']);
  assert.doesNotThrow(() => decodeWorkerMessage('{"type":"result_array","id":6,"count":2,"strict":true}\n[1,NaN]'), 'trusted: the worker vouched for its encoder');
  refused('{"type":"result_array","id":6,"count":2,"strict":false}\n[1,NaN]', /^result_array 6: output 2 of 2 is not one JSON value: /);
  refused('{"type":"result_array","id":6,"count":2,"strict":true}\n[1,{"a":1}2]', /^result_array 6: what follows the header is not a JSON array: /);
  // ...and an element that begins with a string, object or array must end with it (the split refuses the frame).
  for (const element of ['{"a":1}{"b":2}', '"a""b"', '"a"5', '[1]2', '1"a"', '1[2]']) {
    refused(`{"type":"result_array","id":8,"count":2}\n[1, ${element}]`, /^result_array 8: what follows the header is not a JSON array: /);
  }
  const array = decodeWorkerMessage('{"type":"result_array","id":7,"count":12}\n[ -1.5e3 , true,null, false, "x", {"a": [1, {"b": "}"}]}, -0, 0.5e-3, 12E+4, 0, -7, 1023 ]');
  assert.deepEqual(array.type === 'result_lines' && outputTextList(array.outputs), ['-1.5e3', 'true', 'null', 'false', '"x"', '{"a": [1, {"b": "}"}]}', '-0', '0.5e-3', '12E+4', '0', '-7', '1023']);
});

test('a result_lines or result_array header with nothing after it (no newline) is refused, naming what should follow', () => {
  assert.throws(() => decodeWorkerMessage('{"type":"result_lines","id":2,"count":1}'), (err: Error) => err instanceof MalformedMessageError && /result_lines 2: no outputs after the header .*one line per output/.test(err.message));
  assert.throws(() => decodeWorkerMessage('{"type":"result_array","id":3,"count":1}'), (err: Error) => err instanceof MalformedMessageError && /result_array 3: no outputs after the header .*one JSON array/.test(err.message));
});

test('a JSON array, or an object without a string "type", is refused: only an unknown type is ignored', () => {
  assert.throws(() => decodeWorkerMessage('[{"type":"ready"}]'), (err: Error) => err instanceof MalformedMessageError && /a frame is not a JSON object: \[/.test(err.message));
  for (const frame of ['{"id":1,"outputs":[1]}', '{"type":1,"id":1}', '{"Type":"result","id":1,"outputs":[1]}']) {
    assert.throws(() => decodeWorkerMessage(frame), (err: Error) => err instanceof MalformedMessageError && err.message.startsWith('a frame has no "type" (a string): {'), frame);
  }
  assert.deepEqual(decodeWorkerMessage('{"type":"progress","done":3}'), { type: 'progress', done: 3 });
});
