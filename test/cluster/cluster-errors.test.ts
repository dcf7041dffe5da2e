/**
 * Bad input to the cluster commands: an unreachable Redis, a wrong or missing password, queues
 * of an incompatible version, bad flags. Each gives one clear line naming the URL (password
 * masked) and the remedy, with the code's exit status, from agent, submit and status alike.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { ClusterKeys } from '../../src/cluster/index.js';
import { openRedisJournal } from '../../src/store/index.js';
import { runCli, startCli, tempDir, writeJsonl, type CliResult } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { clusterConfig, freePort, PrivateRedis, SHARED_REDIS, startAgent, uniquePrefix, waitForText } from './cluster-helpers.js';

const pids = killAtEnd();

/** The three commands that take --redis, against `url`. */
function allCommands(dir: string, url: string, prefix = 'gpupool'): Promise<[string, CliResult][]> {
  const config = clusterConfig(dir);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3);
  const runs: [string, string[]][] = [
    ['agent', ['agent', '-c', config, '--redis', url, '--prefix', prefix]],
    ['submit', ['submit', '-c', config, '--redis', url, '--prefix', prefix, '-i', input, '-o', path.join(dir, 'out.jsonl'), '--progress', 'none']],
    ['status', ['status', '--redis', url, '--prefix', prefix]],
  ];
  return Promise.all(runs.map(async ([name, args]) => [name, await runCli(args)] as [string, CliResult]));
}

function assertError(name: string, r: CliResult, code: string, message: RegExp, secret?: string): void {
  assert.equal(r.code, 14, `${name}: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^gpupool: ${code}: `), name);
  assert.match(r.stderr, message, name);
  assert.match(r.stderr, /\n {2}remedy: \S/, name);
  if (secret !== undefined) assert.ok(!r.stderr.includes(secret), `${name} shows the password: ${r.stderr}`);
}

test('an unreachable Redis: GPUPOOL_E_REDIS_UNREACHABLE naming the URL with its password masked', { timeout: 120_000 }, async () => {
  const port = await freePort();
  for (const [name, r] of await allCommands(tempDir(), `redis://:hunter2@127.0.0.1:${port}/0`)) {
    assertError(name, r, 'GPUPOOL_E_REDIS_UNREACHABLE', new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0: ECONNREFUSED`), 'hunter2');
    assert.match(r.stderr, /remedy: Start Redis, or fix the host and port in the URL/);
  }
});

test('a wrong password, and none where one is required: GPUPOOL_E_REDIS_AUTH with the URL masked', { timeout: 120_000 }, async () => {
  const redis = await PrivateRedis.start(tempDir('gpupool-redis-'), ['--requirepass', 's3cret-pw']);
  pids.push(redis.pid!);
  try {
    const dir = tempDir();
    for (const [name, r] of await allCommands(dir, `redis://:wrong-pw@127.0.0.1:${redis.port}`)) {
      assertError(name, r, 'GPUPOOL_E_REDIS_AUTH', new RegExp(`Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port} did not let gpupool in: it refused the password in the URL \\(WRONGPASS\\)`), 'wrong-pw');
      assert.match(r.stderr, /remedy: Put the right password in the URL: redis:\/\/:PASSWORD@host:6379/);
    }
    const [, none] = (await allCommands(dir, redis.url)).find(([name]) => name === 'status')!;
    assertError('status without a password', none, 'GPUPOOL_E_REDIS_AUTH', /it requires a password and the URL gives none \(NOAUTH\)/);
    // The right one gets in.
    const ok = await runCli(['status', '--redis', `redis://:s3cret-pw@127.0.0.1:${redis.port}`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^Redis redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}, prefix gpupool\\njobs: none\\nagents: none`));
  } finally {
    await redis.stop();
  }
});

test('queues made by an incompatible gpupool: GPUPOOL_E_QUEUE_VERSION naming URL, prefix and versions', { timeout: 120_000 }, async (t) => {
  const prefix = uniquePrefix(t);
  const redis = new Redis(SHARED_REDIS);
  await redis.hset(`${prefix}:meta`, { schema: 999, createdBy: '9.9.9' });
  redis.disconnect();
  for (const [name, r] of await allCommands(tempDir(), SHARED_REDIS, prefix)) {
    assertError(name, r, 'GPUPOOL_E_QUEUE_VERSION', new RegExp(`the queues at redis://127\\.0\\.0\\.1:6379 under prefix "${prefix}" cannot be used: they were made by gpupool 9\\.9\\.9 with queue schema 999; this gpupool \\S+ speaks queue schema 1`));
    assert.match(r.stderr, /remedy: .*another --prefix/);
  }
});

test('bad flags name the flag, the value and what is allowed', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const config = clusterConfig(dir);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3);
  const submit = ['submit', '-c', config, '-i', input, '-o', path.join(dir, 'out.jsonl'), '--progress', 'none'];
  const unnamed = ['agent', '-c', config, '--redis', SHARED_REDIS, '--prefix', 'namecheck'];
  const cases: [string[], RegExp][] = [
    [[...submit, '--redis', 'http://127.0.0.1:6379'], /--redis must be a URL like redis:\/\/host:6379.*got "http:\/\/127\.0\.0\.1:6379"/],
    [[...submit, '--redis', 'redis://:pw@host/abc'], /the database in the URL's path must be a number.*got "\/abc" in "redis:\/\/:\*\*\*@host\/abc"/],
    [[...submit, '--redis', SHARED_REDIS, '--chunk-size', '0'], /--chunk-size must be an integer ≥ 1, got "0"/],
    [[...submit, '--redis', SHARED_REDIS, '--lock-duration', '5ms'], /--lock-duration must be a duration of at least 100ms.*got "5ms"/],
    [[...submit, '--redis', SHARED_REDIS, '--job', 'a b'], /--job must be 1 to 64 letters, digits, "_", "\." or "-", got "a b"/],
    [[...submit, '--redis', SHARED_REDIS, '--prefix', 'a:b'], /--prefix must be 1 to 64 letters.*got "a:b"/],
    // An agent's name is its Redis connection's (no spaces there) and its log folder's; its prefix is submit's.
    [[...unnamed, '--name', 'gpu node 1'], /--name must be 1 to 64 letters, digits, "_", "\." or "-", got "gpu node 1"/],
    [[...unnamed, '--name', 'bad/name'], /--name must be 1 to 64 letters.*got "bad\/name"/],
    [[...unnamed, '--name', ''], /--name must be 1 to 64 letters.*got ""/],
    [['agent', '-c', config, '--redis', SHARED_REDIS, '--prefix', 'bad:pre', '--name', 'a1'], /--prefix must be 1 to 64 letters.*got "bad:pre"/],
    [['status', '--redis', SHARED_REDIS, '--prefix', 'bad:pre'], /--prefix must be 1 to 64 letters.*got "bad:pre"/],
    [['status'], /status needs the OUTPUT file of a run \(or the --state-dir it was given\), or --redis URL \[JOB\]/],
  ];
  // Refused before anything starts: a run past the limit (an agent that took the name) is a failure.
  const results = await Promise.all(cases.map(([args]) => runCli(args, { timeoutMs: 30_000 })));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i][0].join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, cases[i][1]);
    assert.match(r.stderr, /GPUPOOL_E_USAGE/);
  });
  // A log folder that cannot be made (procfs answers ENOENT to a mkdir) is said, not a stack.
  const logs = await runCli(['agent', '-c', config, '--redis', SHARED_REDIS, '--prefix', 'logcheck', '--name', 'a1', '--log-dir', '/proc/gpupool-test'], { timeoutMs: 60_000 });
  assert.equal(logs.code, 11, logs.stderr);
  assert.match(logs.stderr, /GPUPOOL_E_OUTPUT: cannot make the folder \/proc\/gpupool-test for the workers' logs \(--log-dir\): ENOENT/);
  // The output is checked as `gpupool run` checks it.
  const onInput = await runCli(['submit', '-c', config, '-i', input, '-o', input, '--redis', SHARED_REDIS, '--progress', 'none']);
  assert.equal(onInput.code, 11, onInput.stderr);
  assert.match(onInput.stderr, /GPUPOOL_E_OUTPUT: -o .*in\.jsonl is the input file/);
  assert.equal(fs.readFileSync(input, 'utf8').split('\n').length, 4, 'the input is untouched');
});

test('status of a job that is not there names the jobs that are, finished ones too', { timeout: 120_000 }, async (t) => {
  const prefix = uniquePrefix(t);
  const redis = new Redis(SHARED_REDIS);
  t.after(() => redis.disconnect());
  await redis.hset(`${prefix}:meta`, { schema: 1, createdBy: 'test' });
  const r = await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix, 'no-such-job']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, new RegExp(`GPUPOOL_E_NOT_FOUND: no job "no-such-job" at redis://127\\.0\\.0\\.1:6379 under prefix "${prefix}"; there are no jobs there`));
  // A registered job and a finished one (unregistered, its journal in Redis) are both named.
  const keys = new ClusterKeys(prefix);
  await redis.hset(keys.jobs, 'live-job', JSON.stringify({ id: 'live-job', model: 'echo', schema: 1, description: {}, submitter: { host: 'h', pid: 1 }, createdAt: 0 }));
  const journal = await openRedisJournal({ redis, key: keys.journal('done-job'), identity: { fingerprint: 'fp', description: { model: 'echo' } } });
  await journal.markFinished(0);
  await journal.close();
  const both = await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix, 'no-such-job']);
  assert.equal(both.code, 4, both.stderr);
  assert.match(both.stderr, /no job "no-such-job" at \S+ under prefix "\S+"; jobs there: live-job; finished jobs whose journal is in Redis: done-job\n/);
});

test('a job whose output takes no positioned writes (a file of /proc) fails naming it, GPUPOOL_E_OUTPUT', { timeout: 120_000 }, async (t) => {
  const dir = tempDir();
  const prefix = uniquePrefix(t);
  const config = clusterConfig(dir);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 20);
  const agent = await startAgent(config, SHARED_REDIS, prefix, 'w1');
  pids.push(agent.child.pid!);
  const args = ['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', '/proc/version', '--state-dir', path.join(dir, 'state'), '--progress', 'none'];
  const r = await runCli(args, { timeoutMs: 60_000 });
  assert.equal(r.code, 11, r.stderr);
  // As root the file opens and the positioned write fails (ESPIPE); otherwise it does not open.
  assert.match(r.stderr, /GPUPOOL_E_OUTPUT: cannot write the output \/proc\/version: (ESPIPE: invalid seek, write|EACCES)/);
  agent.child.kill('SIGINT');
  await agent.done;
});

test('a database the Redis does not have is refused, not silently database 0; one it has is used', async () => {
  const missing = await runCli(['status', '--redis', `${SHARED_REDIS}/99`, '--prefix', 'gp-db-check']);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /^gpupool: GPUPOOL_E_USAGE: Redis at redis:\/\/127\.0\.0\.1:6379\/99 has no database 99 \(it has \d+: 0 to \d+\): ERR DB index is out of range/);
  const agent = await runCli(['agent', '-c', clusterConfig(tempDir()), '--redis', `${SHARED_REDIS}/99`, '--prefix', 'gp-db-check'], { timeoutMs: 30_000 });
  assert.equal(agent.code, 2, 'an agent does not join database 0 either');
  const present = await runCli(['status', '--redis', `${SHARED_REDIS}/1`, '--prefix', 'gp-db-check']);
  assert.equal(present.code, 0, present.stderr);
});

test('a submitter with no agent for its model says so after 10 s; Ctrl-C then ends it (nothing could answer its chunks), and the same command resumes', { timeout: 90_000 }, async (t) => {
  const dir = tempDir();
  const prefix = uniquePrefix(t);
  const config = clusterConfig(dir);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 100);
  const out = path.join(dir, 'out.jsonl');
  const args = ['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', out, '--progress', 'none', '--chunk-size', '10'];
  const submit = startCli(args);
  pids.push(submit.child.pid!);
  await waitForText(submit.child, `gpupool: warning: no live agent runs model "echo" under prefix "${prefix}" (for 10.0 s): its chunks wait in Redis`);
  submit.child.kill('SIGINT'); // one Ctrl-C: the drain does not wait for answers that cannot come
  const r = await submit.done;
  assert.equal(r.code, 130, r.stderr);
  // And says so, not that it drains.
  assert.match(r.stderr, /gpupool: stopping: no live agent runs model "echo" to answer the \d+ chunks out; they stay in Redis, and the same command resumes\n/);
  assert.doesNotMatch(r.stderr, /draining|press Ctrl-C again/);
  const agent = await startAgent(config, SHARED_REDIS, prefix, 'late');
  pids.push(agent.child.pid!);
  const again = await runCli(args, { timeoutMs: 60_000 });
  assert.equal(again.code, 0, again.stderr);
  const ids = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: number }).id);
  assert.deepEqual(ids.sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1), 'every id once');
  agent.child.kill('SIGINT');
  await agent.done;
});
