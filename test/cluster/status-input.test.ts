/**
 * `gpupool status --redis` checks a submit job's input as `gpupool status OUTPUT` checks a run's:
 * after the submitter was killed, lines added say the same submit resumes it; a line that ran,
 * edited, says the same submit will refuse it (and it does), in place of "run the same submit
 * command again to resume"; a job submitted from another host says its input was not checked.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { runCli, startCli, tempDir, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { clusterConfig, FIXTURES, SHARED_REDIS, startAgent, uniquePrefix, waitForLines } from './cluster-helpers.js';

const pids = killAtEnd();

interface JobJson {
  job: { id: string; submitter: { host: string } };
  input?: { inputNow?: string; inputResumes?: boolean; inputRefusal?: string; notChecked?: string };
}

for (const journal of ['sqlite', 'redis'] as const) {
  test(`status --redis says whether the same submit resumes or refuses a changed input (journal: ${journal})`, { timeout: 120_000 }, async (t) => {
    const dir = tempDir();
    const prefix = uniquePrefix(t);
    const config = clusterConfig(dir, { worker: path.join(FIXTURES, 'gate_worker.py'), workers: 1 });
    const gate = path.join(dir, 'gate');
    // Items past the first 1,000 wait for the gate: the submitter is killed with the job unfinished.
    const input = writeJsonl(path.join(dir, 'in.jsonl'), 3_000, (i) => (i < 1_000 ? { n: i } : { n: i, gate }));
    const out = path.join(dir, 'out.jsonl');
    const agent = await startAgent(config, SHARED_REDIS, prefix, 'a1');
    pids.push(agent.child.pid!);
    const submit = ['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', out, '--job', 'edits', '--chunk-size', '100', '--journal', journal, '--progress', 'none'];
    const first = startCli(submit);
    pids.push(first.child.pid!);
    await waitForLines(out, 300);
    first.child.kill('SIGKILL');
    await first.done;

    const text = async (): Promise<string> => {
      const r = await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const json = async (): Promise<JobJson> => {
      const r = await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix, 'edits', '--json']);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { jobs: JobJson[] }).jobs[0]!;
    };

    const unchanged = await text();
    assert.doesNotMatch(unchanged, /^ +input:/m, 'the input did not change: nothing said');
    assert.match(unchanged, /^ +submitter: gone \(run the same submit command again to resume\)$/m);
    assert.equal((await json()).input, undefined);

    fs.appendFileSync(input, `${JSON.stringify({ n: 3_000 })}\n`);
    assert.match(await text(), /^ +input: changed since the journal took it \(.*\): the same submit command resumes it and runs /m);
    assert.deepEqual(await json().then((j) => j.input?.inputResumes), true);

    // A line that ran, edited: the same submit would refuse the file.
    const lines = fs.readFileSync(input, 'utf8').split('\n');
    lines[0] = JSON.stringify({ n: 'edited' });
    fs.writeFileSync(input, lines.join('\n'));
    const refused = await text();
    assert.match(refused, /^ +input: changed since the journal took it \(.*\): the same submit command will refuse it: its first \d+ bytes are not those read before: a line there was edited or removed/m);
    assert.match(refused, /^ +submitter: gone; the same submit command would refuse the input \(above\): with --fresh it runs the job again from the start$/m);
    assert.doesNotMatch(refused, /run the same submit command again to resume/);
    const refusedJson = await json();
    assert.equal(refusedJson.input?.inputResumes, false);
    assert.match(refusedJson.input?.inputRefusal ?? '', /edited or removed/);
    // And it does refuse it.
    const again = await runCli(submit);
    assert.equal(again.code, 10, again.stderr);
    assert.match(again.stderr, /edited or removed/);

    // A job whose submitter ran on another host: its input there cannot be read from here.
    const redis = new Redis(SHARED_REDIS);
    try {
      const key = `${prefix}:jobs`;
      const record = JSON.parse((await redis.hget(key, 'edits'))!) as JobJson['job'];
      await redis.hset(key, 'elsewhere', JSON.stringify({ ...record, id: 'elsewhere', submitter: { host: 'other-host.example', pid: 1 } }));
    } finally {
      redis.disconnect();
    }
    assert.match(await text(), /^ +input: not checked: its input lies on other-host\.example, not here: run this status there to check it$/m);

    fs.writeFileSync(gate, '');
    agent.child.kill('SIGINT');
    await agent.done;
  });
}
