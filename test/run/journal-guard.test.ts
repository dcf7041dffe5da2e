import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pyWorker, readOutput, ROOT, runCli, startCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Inputs with "gate": PATH wait in the worker until that file exists (holds a run open for as long as a test needs). */
const GATE_WORKER = `[python3, ${JSON.stringify(path.join(ROOT, 'test', 'cluster', 'fixtures', 'gate_worker.py'))}]`;

function echoJob(dir: string, n: number, make: (i: number) => unknown = (i) => ({ n: i }), command = pyWorker('slow_worker.py')) {
  const input = writeJsonl(path.join(dir, 'in.jsonl'), n, make);
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${command}\n    devices: cpu\n    batch: { max: 16 }\n`);
  const journal = path.join(dir, '.gpupool', 'out.jsonl', 'journal.sqlite');
  return { out, journal, args: ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'] };
}

test('a corrupt journal: exit 10 naming it, with the remedy; journal and output are left untouched; the remedy works', async () => {
  const dir = tempDir();
  const n = 500;
  const job = echoJob(dir, n);
  assert.equal((await runCli(job.args)).code, 0);
  const output = fs.readFileSync(job.out);
  fs.writeFileSync(job.journal, Buffer.alloc(64 * 1024, 'not a journal '));
  const damaged = fs.readFileSync(job.journal);

  const r = await runCli(job.args);
  assert.equal(r.code, 10, r.stderr);
  assert.match(r.stderr, /^gpupool: GPUPOOL_E_JOURNAL_CORRUPT: /m);
  assert.ok(r.stderr.includes(job.journal), `names the journal: ${r.stderr}`);
  assert.match(r.stderr, /move it aside and run with --fresh/);
  assert.match(r.stderr, /remedy: /);
  const json = await runCli([...job.args, '--json']);
  assert.equal(json.code, 10);
  const body = JSON.parse(json.stderr) as { code: string; message: string };
  assert.equal(body.code, 'GPUPOOL_E_JOURNAL_CORRUPT');
  assert.ok(body.message.includes(job.journal) && body.message.includes('--fresh'), body.message);
  const status = await runCli(['status', job.out]);
  assert.equal(status.code, 10, 'status refuses it too');
  assert.match(status.stderr, /GPUPOOL_E_JOURNAL_CORRUPT/);
  assert.deepEqual(fs.readFileSync(job.journal), damaged, 'the journal is never overwritten silently');
  assert.deepEqual(fs.readFileSync(job.out), output, 'nor is the output');

  // The remedy, as written: move it aside, run with --fresh.
  fs.renameSync(job.journal, `${job.journal}.damaged`);
  const fresh = await runCli([...job.args, '--fresh']);
  assert.equal(fresh.code, 0, fresh.stderr);
  const lines = readOutput(job.out);
  assert.equal(new Set(lines.map((l) => l.id)).size, n);
  assert.equal(lines.length, n);
  assert.deepEqual(fs.readFileSync(`${job.journal}.damaged`), damaged);
});

test('a journal locked by a live run: a second run is refused naming its PID, even with --fresh; the live run is undisturbed', async () => {
  const dir = tempDir();
  const n = 2000;
  // The first 100 pass at once (so the run is seen writing); the rest wait for the gate.
  const gate = path.join(dir, 'gate');
  const job = echoJob(dir, n, (i) => (i < 100 ? { n: i } : { n: i, gate }), GATE_WORKER);
  const live = startCli(job.args);
  try {
    while (!(fs.existsSync(job.out) && fs.statSync(job.out).size > 0)) {
      assert.equal(live.child.exitCode, null, 'the first run ended before it wrote anything');
      await sleep(20);
    }
    for (const extra of [[], ['--fresh']]) {
      const r = await runCli([...job.args, ...extra]);
      assert.equal(r.code, 10, r.stderr);
      assert.match(r.stderr, /^gpupool: GPUPOOL_E_JOURNAL_LOCKED: /m);
      assert.match(r.stderr, new RegExp(`PID ${live.child.pid}\\b`));
      assert.match(r.stderr, /wait for that run to finish or stop it/);
    }
    const status = await runCli(['status', job.out, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { running: { pid: number } | null }).running?.pid, live.child.pid);
    assert.equal(live.child.exitCode, null, 'still running: the refused runs did not stop it');
  } finally {
    live.child.kill('SIGINT'); // drain: in-flight batches finish, the rest is left to a resume
    fs.writeFileSync(gate, ''); // after the interrupt, so that the run stops with work left
  }
  const first = await live.done;
  assert.ok(first.code === 0 || first.code === 130, `first run: exit ${first.code}\n${first.stderr}`);
  const resumed = await runCli(job.args);
  assert.equal(resumed.code, 0, resumed.stderr);
  const lines = readOutput(job.out);
  assert.equal(lines.length, n, 'every id once: nothing the live run wrote was lost or doubled');
  assert.equal(new Set(lines.map((l) => l.id)).size, n);
  for (const l of lines) assert.equal((l.output as { n: number }).n, (l.id as number) - 1);
});

test('a first run whose workers never started (a typo in command: the script is missing) leaves nothing to resume: the corrected command runs, and a job with lines written is still refused another', async () => {
  const dir = tempDir();
  const typo = echoJob(dir, 50, undefined, `[python3, ${JSON.stringify(path.join(dir, 'no_such_worker.py'))}]`);
  const failedStart = await runCli(typo.args);
  assert.equal(failedStart.code, 5, failedStart.stderr); // GPUPOOL_E_COMMAND_NOT_FOUND: the script is missing
  assert.ok(fs.existsSync(typo.journal), 'the failed run made its journal');
  const fixed = echoJob(dir, 50, undefined, pyWorker('noop_worker.py'));
  const r = await runCli(fixed.args);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(new Set(readOutput(fixed.out).map((l) => l.id)).size, 50);
  // Now the journal holds a job that wrote its lines: another command is another job.
  const other = await runCli(echoJob(dir, 50).args);
  assert.equal(other.code, 10, other.stderr);
  assert.match(other.stderr, /GPUPOOL_E_JOURNAL_MISMATCH: [^]*differs in: command/);
});
