/**
 * The same command again over a finished job whose input is as it was: nothing to run, so no
 * model loads (a cron re-running its shards paid a model load each time); the summary and the
 * exit code are those of a run that found everything done. A changed input loads it as before.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pyWorker, readOutput, runCli, tempDir, writeConfig } from '../helpers/cli.js';

interface Summary {
  done: number;
  failed: number;
  resumed: number;
  resumedFailed: number;
  workers: number;
}

test('a finished job run again with its input as it was loads no model, and says so; a failed item keeps exit 1', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"v":1}\n{"broken":\n{"v":3}\n');
  const out = path.join(dir, 'out.jsonl');
  const started = path.join(dir, 'setup-started');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    env: { SETUP_STARTED_FILE: ${JSON.stringify(started)} }\n`);
  const args = ['run', '-c', config, '-i', input, '-o', out, '--json'];
  const first = await runCli([...args, '--progress', 'none']);
  assert.equal(first.code, 1, first.stderr);
  assert.ok(fs.existsSync(started));
  fs.rmSync(started);

  const again = await runCli([...args, '--progress', 'plain']);
  assert.equal(again.code, 1, 'the failed line still fails the job');
  const summary = JSON.parse(again.stdout) as Summary;
  assert.deepEqual([summary.done, summary.failed, summary.resumed, summary.resumedFailed, summary.workers], [0, 0, 3, 1, 0]);
  assert.equal(fs.existsSync(started), false, 'no worker started');
  assert.match(again.stderr, /^done: 0 items ok, 0 failed, 3 already done before \(1 of them failed\) in .*\n {2}0 workers, 0 restarts; host peak RSS .*\n {2}nothing left to run: the journal says the job finished, and its input is as it was then; no model was loaded\n/m);
  assert.equal(readOutput(out).length, 3, 'the output as it was');

  // A line added: the model loads and runs it.
  fs.appendFileSync(input, '{"v":4}\n');
  const grown = await runCli([...args, '--progress', 'none']);
  assert.equal(grown.code, 1, grown.stderr);
  assert.deepEqual((JSON.parse(grown.stdout) as Summary).done, 1);
  assert.ok(fs.existsSync(started), 'loaded for the new line');
});

test('a folder job run again unchanged loads no model; stdin is read again as always', async () => {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  fs.mkdirSync(pages);
  for (const name of ['a.txt', 'b.txt']) fs.writeFileSync(path.join(pages, name), name);
  const started = path.join(dir, 'setup-started');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    env: { SETUP_STARTED_FILE: ${JSON.stringify(started)} }\n`);
  const folderArgs = ['run', '-c', config, '-i', pages, '-o', path.join(dir, 'out.jsonl'), '--progress', 'none', '--json'];
  assert.equal((await runCli(folderArgs)).code, 0);
  fs.rmSync(started);
  const again = await runCli(folderArgs);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as Summary).resumed, 2);
  assert.equal(fs.existsSync(started), false);

  const stdinArgs = ['run', '-c', config, '-i', '-', '-o', path.join(dir, 'stdin-out.jsonl'), '--progress', 'none', '--json'];
  assert.equal((await runCli(stdinArgs, { input: '{"v":1}\n' })).code, 0);
  fs.rmSync(started);
  const stdinAgain = await runCli(stdinArgs, { input: '{"v":1}\n' });
  assert.equal(stdinAgain.code, 0, stdinAgain.stderr);
  assert.ok(fs.existsSync(started), 'stdin cannot be known: the run reads it');
});
