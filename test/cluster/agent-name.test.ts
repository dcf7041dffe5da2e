/**
 * The name an agent registers under, against the real Redis: a default name that a live agent
 * in another PID namespace holds (containers sharing the hostname, each agent PID 1) gets a
 * suffix; a killed predecessor's, a stale one's, and one given with --name are kept.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { publishAgent, readAgent, type AgentInfo } from '../../src/cluster/agent-info.js';
import { chooseAgentName, releaseAgentName } from '../../src/cluster/agent-name.js';
import { ClusterKeys } from '../../src/cluster/cluster-keys.js';
import { pidScope, type PidRecord } from '../../src/store/index.js';
import { pyWorker, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { until } from '../helpers/until.js';
import { clusterConfig, SHARED_REDIS, uniquePrefix, waitForText } from './cluster-helpers.js';

const redis = new Redis(SHARED_REDIS, { maxRetriesPerRequest: null });
after(() => redis.disconnect());

const base = `${os.hostname()}-${process.pid}`;
const otherContainer = 'boot pid:[4026532999]';

function entry(id: string, fields: Partial<AgentInfo>): AgentInfo {
  const now = Date.now();
  return { id, host: os.hostname(), pid: 1, version: 'test', state: 'running', startedAt: now, updatedAt: now, capacity: {}, devices: [], workers: [], jobs: {}, itemsDone: 0, itemsFailed: 0, chunksDone: 0, ...fields };
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

test('a default name held by a live agent in another PID namespace gets the next free suffix', async (t) => {
  const keys = new ClusterKeys(uniquePrefix(t));
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined), base, 'free: the plain default');
  await publishAgent(redis, keys, entry(base, { pid: process.pid, pidScope: otherContainer }));
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined), `${base}-2`);
  await publishAgent(redis, keys, entry(`${base}-2`, { pid: process.pid, pidScope: otherContainer }));
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined), `${base}-3`);
  // An entry written without a scope (an older gpupool) may be live as well.
  await publishAgent(redis, keys, entry(`${base}-3`, { pid: process.pid }));
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined), `${base}-4`);
});

test("a killed predecessor's name, a stale entry's and this process's own are taken as they are", async (t) => {
  const keys = new ClusterKeys(uniquePrefix(t));
  await publishAgent(redis, keys, entry(base, { pid: await deadPid(), pidScope: pidScope() }));
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined), base, 'its PID is free here: it was killed');
  await publishAgent(redis, keys, entry(base, { pid: process.pid, pidScope: otherContainer, updatedAt: Date.now() - 60_000 }));
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined), base, 'silent for a minute: gone');
  await publishAgent(redis, keys, entry(base, { pid: process.pid, pidScope: pidScope() }));
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined), base, 'this very process');
});

test('a name given with --name is kept; a live clash is told, naming the other agent', async (t) => {
  const keys = new ClusterKeys(uniquePrefix(t));
  const lines: string[] = [];
  assert.equal(await chooseAgentName(redis, keys, 'gpu-node-a', (l) => lines.push(l)), 'gpu-node-a');
  assert.equal(lines.length, 0, "no clash: nothing said");
  await publishAgent(redis, keys, entry('gpu-node-a', { pid: 1, host: 'gpu-node-b', pidScope: otherContainer }));
  assert.equal(await chooseAgentName(redis, keys, 'gpu-node-a', (l) => lines.push(l)), 'gpu-node-a');
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^another agent named gpu-node-a \(PID 1 on gpu-node-b\) was heard from \d+ s ago; if it still runs, give each agent its own --name/);
  assert.equal((await readAgent(redis, keys, 'gpu-node-a'))?.host, 'gpu-node-b', 'choosing a name writes nothing');
});

test('agents in eight containers choosing the same default name at once each get their own', async (t) => {
  const keys = new ClusterKeys(uniquePrefix(t));
  // Each is PID 1 of its own namespace on this hostname, as with hostNetwork pods.
  const containers = Array.from({ length: 8 }, (_, i): PidRecord => ({ pid: 1, hostname: os.hostname(), pidScope: `boot pid:[40265330${i}]` }));
  const names = await Promise.all(containers.map((me) => chooseAgentName(redis, keys, undefined, () => undefined, me)));
  const base = `${os.hostname()}-1`;
  assert.deepEqual([...names].sort(), [base, ...Array.from({ length: 7 }, (_, i) => `${base}-${i + 2}`)].sort(), 'eight names, none twice');
  // The same process choosing again (an agent started twice in one process) keeps its claim.
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined, containers[names.indexOf(`${base}-3`)]), `${base}-3`);
});

test("a name's claim left by a process killed here is taken; one by a live agent elsewhere is not", async (t) => {
  const keys = new ClusterKeys(uniquePrefix(t));
  await redis.set(keys.agentNameClaim(base), JSON.stringify({ pid: await deadPid(), hostname: os.hostname(), pidScope: pidScope() }), 'PX', 10_000);
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined), base, 'its claimant was killed');
  await redis.set(keys.agentNameClaim(base), JSON.stringify({ pid: process.pid, hostname: os.hostname(), pidScope: otherContainer }), 'PX', 10_000);
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined), `${base}-2`, 'claimed a moment ago in another container, not yet published');
  assert.ok((await redis.pttl(keys.agentNameClaim(`${base}-2`))) > 0, 'a claim expires by itself');
});

test('an agent that fails to start gives its name back at once, and one that drains does too', { timeout: 60_000 }, async (t) => {
  const prefix = uniquePrefix(t);
  const keys = new ClusterKeys(prefix);
  const dir = tempDir();
  // A model whose setup raises: the agent exits before ready, having claimed `<hostname>-<its pid>`.
  const failing = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('setup_fail_worker.py')}\n    devices: cpu\n    restart: { max_start_failures: 1 }\n`, 'failing.yaml');
  const run = startCli(['agent', '-c', failing, '--redis', SHARED_REDIS, '--prefix', prefix]);
  const result = await run.done;
  assert.notEqual(result.code, 0, result.stderr);
  const name = `${os.hostname()}-${run.child.pid}`;
  assert.match(result.stderr, new RegExp(name));
  assert.equal(await redis.exists(keys.agentNameClaim(name)), 0, 'no claim left behind (a restarted container would take the next suffix)');
  assert.equal(await readAgent(redis, keys, name), null);

  const agent = startCli(['agent', '-c', clusterConfig(dir), '--redis', SHARED_REDIS, '--prefix', prefix]);
  const live = `${os.hostname()}-${agent.child.pid}`;
  await waitForText(agent.child, `${live} ready`);
  agent.child.kill('SIGINT');
  const drained = await agent.done;
  assert.equal(drained.code, 0, `${drained.signal} ${drained.stderr}`);
  assert.equal(await redis.exists(keys.agentNameClaim(live)), 0, 'drained: no claim left');
});

test('a claim is given back only by its holder', async (t) => {
  const keys = new ClusterKeys(uniquePrefix(t));
  const other: PidRecord = { pid: 1, hostname: os.hostname(), pidScope: otherContainer };
  assert.equal(await chooseAgentName(redis, keys, undefined, () => undefined, other), `${os.hostname()}-1`);
  await releaseAgentName(redis, keys, `${os.hostname()}-1`);
  assert.equal(await redis.exists(keys.agentNameClaim(`${os.hostname()}-1`)), 1, "another container's claim stays");
  await releaseAgentName(redis, keys, `${os.hostname()}-1`, other);
  assert.equal(await redis.exists(keys.agentNameClaim(`${os.hostname()}-1`)), 0);
});

test('Ctrl-C while the models load stops the agent with exit 130: its worker is killed and its name given back', { timeout: 60_000 }, async (t) => {
  const prefix = uniquePrefix(t);
  const keys = new ClusterKeys(prefix);
  const dir = tempDir();
  const started = path.join(dir, 'setup-started');
  const slow = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    env: { SETUP_SLEEP_MS: "30000", SETUP_STARTED_FILE: ${JSON.stringify(started)} }\n`, 'slow.yaml');
  const agent = startCli(['agent', '-c', slow, '--redis', SHARED_REDIS, '--prefix', prefix]);
  const name = `${os.hostname()}-${agent.child.pid}`;
  const workerPid = Number(await until('the worker to begin loading its model', () => fs.existsSync(started) && fs.readFileSync(started, 'utf8')));
  agent.child.kill('SIGINT');
  const result = await agent.done;
  assert.equal(result.code, 130, `${result.signal} ${result.stderr}`);
  assert.match(result.stderr, /stopping: the models were still loading; their workers are stopped/);
  assert.match(result.stderr, /GPUPOOL_E_INTERRUPTED: interrupted while the workers started \(models loading\)/);
  await until('the worker to be gone', () => {
    try {
      process.kill(workerPid, 0);
      return false;
    } catch {
      return true;
    }
  }, 10_000);
  assert.equal(await redis.exists(keys.agentNameClaim(name)), 0, 'no claim left');
  assert.equal(await readAgent(redis, keys, name), null, 'no entry left');
});
