import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { ROOT, runCli } from '../helpers/cli.js';
import { isAlive, killAtEnd } from '../helpers/processes.js';
import { call, cpuModel, startServer, waitFor, type RunningServer } from './serve-helpers.js';

let server: RunningServer | undefined;
after(async () => {
  const r = await server?.stop();
  assert.equal(r?.code, 0, r?.stderr);
});
const pids = killAtEnd();

test('a `kind: http` model is served beside a process model: proxied, ready, listed, counted', async () => {
  const web = `  web:\n    kind: http\n    command: [python3, ${JSON.stringify(path.join(ROOT, 'examples/http-server/server.py'))}, --port, "{port}"]\n    devices: cpu\n`;
  server = await startServer(web + cpuModel('echo', 'noop_worker.py'), [], { pids });
  await waitFor('the ready line', async () => (/ready: echo \(1 worker\), web \(1 replicas, kind: http\)/.test(server!.stderr()) ? true : undefined));

  const ready = (await call(server.url, 'GET', '/readyz')).json() as { models: Record<string, unknown> };
  assert.deepEqual(ready.models.web, { ready: true, readyWorkers: 1, workers: 1 });
  const proxied = await call(server.url, 'POST', '/v1/models/web/predict', { inputs: [1, 'ab'] });
  assert.equal(proxied.status, 200, proxied.text);
  assert.deepEqual(proxied.json().outputs, [2, 'ba']);
  assert.deepEqual((await call(server.url, 'POST', '/v1/models/echo/infer', { inputs: [1] })).json(), { outputs: [1] });

  const workers = (await call(server.url, 'GET', '/v1/workers')).json() as { id: string; kind: string; state: string; pid: number | null }[];
  const replica = workers.find((w) => w.kind === 'http');
  assert.equal(replica?.id, 'web/cpu:0/0');
  assert.equal(replica?.state, 'ready');
  assert.ok(replica?.pid);
  // Its answers count in the model's requests/s once a sampling period has passed.
  await waitFor('the replica\'s rate', async () => {
    const models = (await call(server!.url, 'GET', '/v1/models')).json() as { name: string; kind: string; itemsPerSecond: number }[];
    const m = models.find((x) => x.name === 'web');
    assert.equal(m?.kind, 'http');
    return m!.itemsPerSecond > 0 ? true : undefined;
  });
});

test('gpupool infer on a `kind: http` model says infer does not apply and where its routes are, rather than a bug', async () => {
  assert.ok(server, 'the server of the test above');
  const r = await runCli(['infer', '--url', server.url, '-m', 'web', '1']);
  assert.equal(r.code, 2, r.stderr);
  const url = server.url.replace(/[.]/g, '\\.');
  assert.match(r.stderr, new RegExp(`GPUPOOL_E_USAGE: model "web" is \`kind: http\`: gpupool infer does not apply to it .*: echo\\); call its own server's routes, proxied at ${url}/v1/models/web/<path>`));
  assert.equal(r.stdout, '');
});

test('a `kind: http` server does not outlive a gpupool serve killed with SIGKILL (no exit handler runs then)', async () => {
  const web = `  web:\n    kind: http\n    command: [python3, ${JSON.stringify(path.join(ROOT, 'examples/http-server/server.py'))}, --port, "{port}"]\n    devices: cpu\n`;
  const killed = await startServer(web, [], { pids });
  const workers = (await call(killed.url, 'GET', '/v1/workers')).json() as { kind: string; pid: number | null }[];
  const replica = workers.find((w) => w.kind === 'http')?.pid;
  assert.ok(replica, 'the replica has a pid');
  pids.push(replica);
  killed.child.kill('SIGKILL');
  await killed.done;
  await waitFor('the replica to end', async () => (isAlive(replica) && !isZombie(replica) ? undefined : true), 10_000);
});

/** A process that ended but was not reaped yet (its parent, gpupool, is gone; init reaps it soon). */
function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
