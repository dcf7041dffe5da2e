// The plain progress line's total: an estimate from the bytes read while the input is being
// read, marked "~"; the exact number of inputs (blank lines are not inputs) once all are read.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pyWorker, runCli, tempDir, writeConfig } from '../helpers/cli.js';

test('the plain progress line shows "~" before a total that is an estimate, and the exact count once the input is read', async () => {
  const dir = tempDir();
  // ~3 s of work (5 ms an item, one worker): the first progress line comes after 1 s.
  const config = writeConfig(dir, `models:\n  slow:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    batch: { max: 4, timeout: 1ms }\n    env: { ITEM_SLEEP_MS: "5" }\n`);
  // 600 inputs with a blank line after every tenth: 660 lines, of which 600 are inputs.
  const lines = Array.from({ length: 600 }, (_, i) => `{"n":${i}}${i % 10 === 9 ? '\n' : ''}`);
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, `${lines.join('\n')}\n`);
  const read = await runCli(['run', '-c', config, '-i', input, '-o', path.join(dir, 'a.jsonl'), '--progress', 'plain']);
  assert.equal(read.code, 0, read.stderr);
  assert.match(read.stderr, /^\[gpupool\] \d+\/600 items \| /m, 'read at once: the exact count of inputs');
  // With 8 items pending at most, the input is still being read at the first line: an estimate.
  const reading = await runCli(['run', '-c', config, '-i', input, '-o', path.join(dir, 'b.jsonl'), '--progress', 'plain', '--max-pending', '8']);
  assert.equal(reading.code, 0, reading.stderr);
  assert.match(reading.stderr, /^\[gpupool\] \d+\/~[\d,]+ items \| /m);
});
