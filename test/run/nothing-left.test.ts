/**
 * The same command again over a finished job whose input is as it was: nothing to run, so no
 * model loads (a cron re-running its shards paid a model load each time); the summary and the
 * exit code are those of a run that found everything done. A changed input loads it as before.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config/index.js';
import { runJob } from '../../src/run/index.js';
import { openJournal } from '../../src/store/index.js';
import { echoConfig, pyWorker, readOutput, runCli, tempDir, writeConfig } from '../helpers/cli.js';

interface Summary {
  nothingToRun?: boolean;
  done: number;
  failed: number;
  resumed: number;
  resumedFailed: number;
  workers: number;
}

/**
 * A folder with `in.jsonl` holding `lines`, and a config whose worker writes `started` as its
 * setup begins: whether a run loaded the model is whether that file is there.
 */
function markedJob(lines: string): { dir: string; input: string; out: string; started: string; config: string } {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, lines);
  const started = path.join(dir, 'setup-started');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    env: { SETUP_STARTED_FILE: ${JSON.stringify(started)} }\n`);
  return { dir, input, out: path.join(dir, 'out.jsonl'), started, config };
}

test('a finished job run again with its input as it was loads no model, and says so; a failed item keeps exit 1', async () => {
  const { input, out, started, config } = markedJob('{"v":1}\n{"broken":\n{"v":3}\n');
  const args = ['run', '-c', config, '-i', input, '-o', out, '--json'];
  const first = await runCli([...args, '--progress', 'none']);
  assert.equal(first.code, 1, first.stderr);
  assert.ok(fs.existsSync(started));
  fs.rmSync(started);

  const again = await runCli([...args, '--progress', 'plain']);
  assert.equal(again.code, 1, 'the failed line still fails the job');
  const summary = JSON.parse(again.stdout) as Summary;
  assert.deepEqual([summary.done, summary.failed, summary.resumed, summary.resumedFailed, summary.workers, summary.nothingToRun], [0, 0, 3, 1, 0, true]);
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

test("a journal with no digest of the whole file (an earlier gpupool's) runs once, which records it: lines added later then resume", async () => {
  const { dir, input, out, started, config } = markedJob('{"v":1}\n{"v":2}\n');
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  const db = new Database(path.join(dir, '.gpupool', 'out.jsonl', 'journal.sqlite'));
  db.prepare("DELETE FROM meta WHERE key = 'user.inputDigest'").run();
  db.close();
  fs.rmSync(started);
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as Summary).nothingToRun, undefined, 'it ran, to read the file through');
  assert.ok(fs.existsSync(started));
  fs.appendFileSync(input, '{"v":3}\n');
  const grown = await runCli(args);
  assert.equal(grown.code, 0, grown.stderr);
  assert.deepEqual((JSON.parse(grown.stdout) as Summary).done, 1);
});

test('a finished job run again still refuses a device this host does not have, as a run would (exit 7), and leaves the output as it was', async () => {
  const { input, out, started, config } = markedJob('{"v":1}\n{"v":2}\n');
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  fs.rmSync(started);
  const before = fs.readFileSync(out, 'utf8');

  for (const devices of ['9', 'cpu,nope']) {
    const wrong = await runCli([...args, '--devices', devices]);
    assert.equal(wrong.code, 7, wrong.stderr);
    assert.match(wrong.stderr, /"code":"GPUPOOL_E_UNKNOWN_DEVICE".*no device \\"(9|nope)\\".*cpu:0/);
  }
  const right = await runCli([...args, '--devices', 'cpu']);
  assert.equal(right.code, 0, right.stderr);
  assert.equal((JSON.parse(right.stdout) as Summary).nothingToRun, true);
  assert.equal(fs.existsSync(started), false, 'no worker started');
  assert.equal(fs.readFileSync(out, 'utf8'), before);
});

test('an output removed since a finished job with nothing in it is there again, as a run leaves it', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '');
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  fs.rmSync(out);
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as Summary).nothingToRun, true);
  assert.equal(fs.readFileSync(out, 'utf8'), '');
});

test('a waiting last line finished by its producer after the file was opened is still reported as waiting (exit 16), not taken for nothing left', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"v":1}\n{"v":2');
  const output = path.join(dir, 'out.jsonl');
  const config = loadConfig(echoConfig(dir));
  const first = await runJob({ config, input, output, progress: 'none', writerThread: false });
  assert.equal(first.heldBack?.line, 2, 'the last line waits');
  const second = await runJob({
    config,
    input,
    output,
    progress: 'none',
    writerThread: false,
    // The producer ends the line between the run's open of the file and its look at the journal.
    openJournal: (options) => {
      fs.appendFileSync(input, '}\n');
      return openJournal(options);
    },
  });
  // The run reads the file as it was opened: the line still waits, and the next run takes it.
  assert.equal(second.nothingToRun, undefined);
  assert.deepEqual([second.done, second.heldBack?.line], [0, 2]);
});

test('an input that holds no inputs (an empty file, an empty folder, a glob that matches nothing) loads no model; once it has some, they run', async () => {
  // A cron over `incoming/*.pdf` with nothing new paid a model load each time. The worker here
  // fails in setup: reaching it would be exit 6.
  const dir = tempDir();
  const failing = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('setup_fail_worker.py')}\n    devices: cpu\n`, 'failing.yaml');
  const empty = path.join(dir, 'empty.jsonl');
  fs.writeFileSync(empty, '');
  fs.mkdirSync(path.join(dir, 'pages'));
  for (const input of [empty, path.join(dir, 'pages'), path.join(dir, 'pages', '*.pdf')]) {
    const out = path.join(dir, `out-${path.basename(input).replace('*', 'glob')}.jsonl`);
    const r = await runCli(['run', '-c', failing, '-i', input, '-o', out, '--progress', 'plain', '--json']);
    assert.equal(r.code, 0, `${input}: ${r.stderr}`);
    assert.match(r.stderr, /nothing left to run: the input holds no inputs; no model was loaded/, input);
    assert.match(r.stderr, /warning: the input .* holds no inputs/, input);
    assert.equal((JSON.parse(r.stdout) as Summary).nothingToRun, true);
    assert.equal(fs.readFileSync(out, 'utf8'), '', 'an empty output, as a run leaves it');
  }
  // Lines come: the same command runs them.
  fs.writeFileSync(empty, '{"n":1}\n{"n":2}\n');
  const out = path.join(dir, 'out-empty.jsonl');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', empty, '-o', out, '--progress', 'none']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readOutput(out).map((l) => l.id).sort(), [1, 2]);
});
