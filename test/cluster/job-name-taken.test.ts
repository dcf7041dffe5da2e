/**
 * A `--job` name reused for another input and output while the job registered under it is not
 * finished (its submitter killed): refused, naming both jobs, before anything of that job is
 * touched; the first job's own command still resumes it whole.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readOutput, startCli, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { duplicatesAndMissing, gatedAgent, SHARED_REDIS, untilChunkHeld } from './cluster-helpers.js';

const pids = killAtEnd();

test('a job name taken by another unfinished job is refused (GPUPOOL_E_JOURNAL_MISMATCH), and that job resumes untouched', { timeout: 120_000 }, async (t) => {
  const { dir, prefix, config, gate, agent } = await gatedAgent(t, pids);
  // The first job's items wait for the gate: its submitter is surely killed with chunks out.
  const one = writeJsonl(path.join(dir, 'one.jsonl'), 200, (i) => ({ src: 'one', n: i, gate }));
  const two = writeJsonl(path.join(dir, 'two-in.jsonl'), 400, (i) => ({ src: 'two', n: i }));
  const submit = (input: string, output: string): string[] =>
    ['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', output, '--job', 'samename', '--chunk-size', '20', '--progress', 'none', '--json'];
  const e1 = path.join(dir, 'e1.jsonl');
  const e2 = path.join(dir, 'e2.jsonl');

  const first = startCli(submit(one, e1));
  pids.push(first.child.pid!);
  await untilChunkHeld(SHARED_REDIS, prefix, 'samename');
  first.child.kill('SIGKILL');
  await first.done;
  // The agent answers the chunks it holds (into the job's result stream) while no submitter runs.
  fs.writeFileSync(gate, '');

  const other = await startCli(submit(two, e2).filter((a) => a !== '--json')).done;
  assert.equal(other.code, 10, other.stderr);
  assert.match(
    other.stderr,
    new RegExp(
      `GPUPOOL_E_JOURNAL_MISMATCH: the job name "samename" at redis://127\\.0\\.0\\.1:6379 under prefix "${prefix}" is taken by another job, not finished \\(submitted by PID ${first.child.pid} on \\S+\\): ` +
        `its input \\S*one\\.jsonl and output \\S*e1\\.jsonl, this submit's \\S*two-in\\.jsonl and \\S*e2\\.jsonl \\(they differ in input, output\\); give this submit another --job name, or pass --fresh to replace that job`,
    ),
  );
  assert.ok(!fs.existsSync(e2) || fs.statSync(e2).size === 0, 'nothing written to the refused output');

  // The first job's own command takes it up where it was: its results, every id once.
  const resumed = await startCli(submit(one, e1)).done;
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(duplicatesAndMissing(e1, 200), { duplicates: [], missing: [] });
  assert.ok(readOutput(e1).every((l) => (l.output as { src: string }).src === 'one'));
  agent.child.kill('SIGINT');
  await agent.done;
});
