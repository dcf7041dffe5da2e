// `batch_memory` (docs/protocol.md, `result`): what a batch took of device memory, from a worker
// of either SDK that measures, reaches gpupool in every answer form; a reading that is not a
// count of bytes, or a hook that throws, is left out and the batch is still answered.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { ResultLinesMessage, ResultMessage } from '../../src/protocol/index.js';
import { tempDir } from '../helpers/cli.js';
import { sdkWorker } from '../helpers/sdk-worker.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const workers = {
  python: ['python3', path.join(root, 'sdk', 'python', 'tests', 'fixtures', 'memory_report_worker.py')],
  typescript: ['node', path.join(root, 'test', 'run', 'fixtures', 'ts-memory-report-worker.mjs')],
};

/** Each answer's form and `batch_memory`, for `batches` sent one after another to a worker started with `env`. */
async function answers(command: string[], env: NodeJS.ProcessEnv, batches: string[][]): Promise<[string, unknown][]> {
  const dir = tempDir();
  const got: [string, unknown][] = [];
  let answered: () => void = () => {};
  const note = (msg: ResultMessage | ResultLinesMessage) => {
    got.push([msg.type, msg.batch_memory]);
    answered();
  };
  const w = sdkWorker<number>(dir, command, env, { result: (_b, msg) => note(msg), resultLines: (_b, msg) => note(msg), failed: () => assert.fail('a batch failed'), exit: () => {} });
  try {
    await w.start();
    for (const [i, items] of batches.entries()) {
      const done = new Promise<void>((resolve) => (answered = resolve));
      assert.ok(w.dispatch(i, items));
      await done;
    }
  } finally {
    await w.stop();
  }
  return got;
}

for (const [sdk, command] of Object.entries(workers)) {
  test(`${sdk} SDK: a worker that measures its batches says what each took, in every answer form`, async () => {
    const batches = [['1', '2', '3'], ['{"item_error":"empty page"}', '2']];
    const classic = await answers(command, { GPUPOOL_RESULT_FORMS: '' }, batches);
    assert.deepEqual(classic, [['result', 300], ['result', 200]]);
    const fast = await answers(command, { GPUPOOL_RESULT_FORMS: 'result_lines,result_array' }, batches);
    // The decoded fast forms are `result_lines` messages (a batch with an item error goes as result_lines from both SDKs).
    assert.deepEqual(fast, [['result_lines', 300], ['result_lines', 200]]);
  });

  test(`${sdk} SDK: a reading that is no count of bytes, or a hook that throws, is left out and the batch answered`, async () => {
    for (const report of ['bad', 'raise']) {
      assert.deepEqual(await answers(command, { REPORT: report, GPUPOOL_RESULT_FORMS: 'result_lines,result_array' }, [['1']]), [['result_lines', undefined]], report);
    }
  });
}
