/**
 * `gpupool submit` leaves a JSONL file's unfinished last line (no line end, not whole JSON) for
 * the next submit, as `gpupool run` does: exit 16; once the line is written, the same command
 * runs it, and the output holds each id once.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readOutput, runCli, tempDir } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { clusterConfig, SHARED_REDIS, startAgent, uniquePrefix } from './cluster-helpers.js';

const pids = killAtEnd();

for (const journal of ['sqlite', 'redis'] as const) {
  test(`submit leaves an unfinished last line for the next submit (journal: ${journal})`, { timeout: 120_000 }, async (t) => {
    const dir = tempDir();
    const prefix = uniquePrefix(t);
    const config = clusterConfig(dir);
    const input = path.join(dir, 'in.jsonl');
    fs.writeFileSync(input, '{"v":1}\n{"v":2}\n{"v":3, "te');
    const out = path.join(dir, 'out.jsonl');
    const agent = await startAgent(config, SHARED_REDIS, prefix, 'u1');
    pids.push(agent.child.pid!);
    const args = ['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', out, '--job', 'tail', '--journal', journal, '--progress', 'none', '--json'];

    const first = await runCli(args);
    assert.equal(first.code, 16, first.stderr);
    assert.match(first.stderr, /GPUPOOL_E_INPUT_UNFINISHED: the last line of .*in\.jsonl \(line 3, 11 bytes from byte 16/);
    assert.deepEqual((JSON.parse(first.stdout) as { heldBack: unknown }).heldBack, { at: 16, bytes: 11, head: '{"v":3, "te', blank: false, line: 3 });
    assert.deepEqual(readOutput(out).map((l) => l.id).sort(), [1, 2]);
    // The job is finished, so no longer listed: status finds it by its journal, in Redis or beside the output.
    const status = journal === 'redis' ? await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix, 'tail']) : await runCli(['status', out]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /input: its last line \(11 bytes from byte 16\) has no line end and may be unfinished: the runs leave it for the next run; once it is written, the same (submit )?command runs it$/m);

    fs.appendFileSync(input, 'xt":"ok"}\n');
    const whole = await runCli(args);
    assert.equal(whole.code, 0, whole.stderr);
    const byId = readOutput(out).sort((a, b) => Number(a.id) - Number(b.id));
    assert.deepEqual(byId.map((l) => [l.id, l.output]), [[1, { v: 1 }], [2, { v: 2 }], [3, { v: 3, text: 'ok' }]]);
    agent.child.kill('SIGINT');
    await agent.done;
  });
}
