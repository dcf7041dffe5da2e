// A worker's stdout is read for lines that start as a protocol frame (its frames went to the
// wrong place); anything else a model prints, JSON included, is left alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StdoutFrames } from '../../src/worker/stdout-frames.js';

function seen(chunks: string[]): [string, string][] {
  const found: [string, string][] = [];
  const frames = new StdoutFrames((type, line) => found.push([type, line]));
  for (const c of chunks) frames.write(Buffer.from(c));
  return found;
}

test('a frame printed as JSON or as a Python dict is found, across chunks, once', () => {
  assert.deepEqual(seen(['loading\n{"type": "rea', 'dy"}\n{"type": "hello"}\n']), [['ready', '{"type": "ready"}']]);
  assert.deepEqual(seen(["  {'type': 'result', 'id': 3, 'outputs': [1]}\n"]), [['result', "  {'type': 'result', 'id': 3, 'outputs': [1]}"]]);
});

test('what a model prints is not a frame: other types, JSON later in a line, an unfinished line, a long line', () => {
  assert.deepEqual(
    seen([
      '{"type": "text", "bbox": [1, 2]}\n',
      'output: {"type": "result"}\n',
      '{"kind": "result"}\n',
      `${'x'.repeat(100_000)}{"type": "ready"}\n`,
      '{"type": "ready"',
    ]),
    [],
  );
});
