import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeChunkResult, encodeChunkResult, type ChunkResult } from '../../src/cluster/index.js';

test('a chunk result goes through a stream entry and back unchanged, outputs as their own JSON text', () => {
  const r: ChunkResult = {
    chunk: 'ab12-7.0',
    agent: 'gpu-3',
    done: [
      { seq: 4, id: 5, device: 'gpu-3/cuda:0', outputJson: '{"text":"naïve – 日本語 😀"}' },
      { seq: 2, id: 'pages/a b.png', device: 'gpu-3/cuda:1', outputJson: '[1, 2,\n 3]' },
      { seq: 9, id: 10, device: 'gpu-3/cuda:0', outputJson: 'null' },
    ],
    failed: [
      { seq: 7, id: 8, device: 'gpu-3/cuda:1', code: 'GPUPOOL_E_ITEM_FAILED', message: 'bad "page"' },
      { seq: 3, id: 4, device: undefined, code: 'GPUPOOL_E_WORKER_CRASHED', message: 'died' },
    ],
  };
  const fields = encodeChunkResult(r);
  assert.equal(fields[0], 'm');
  assert.equal(fields[2], 'o');
  assert.equal(fields[3], '{"text":"naïve – 日本語 😀"}[1, 2,\n 3]null', 'outputs are concatenated raw: nobody parses them');
  assert.deepEqual(decodeChunkResult(fields), r);
});

test('an entry this version did not write is refused with what is wrong', () => {
  assert.throws(() => decodeChunkResult(['x', '1']), /without its "m" field/);
  assert.throws(() => decodeChunkResult(['m', '{"c":1}']), /unknown shape/);
  const [, meta] = encodeChunkResult({ chunk: 'c', agent: 'a', done: [{ seq: 0, id: 1, device: 'a/cpu:0', outputJson: '"abc"' }], failed: [] });
  assert.throws(() => decodeChunkResult(['m', meta, 'o', '"ab']), /outputs are 3 characters where its index says 5/);
});
