import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { ROOT, tempDir } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { assertErrorBody, call, cpuModel, startServer, waitFor, type RunningServer } from './serve-helpers.js';

let server: RunningServer | undefined;
after(async () => {
  await server?.stop();
});
const pids = killAtEnd();

interface Worker {
  id: string;
  state: string;
  pid: number | null;
  restarts: number;
}

test('/readyz goes 503 when a model\'s last worker dies and back to 200 when it returns; a request sent meanwhile is answered', async () => {
  // Two models; "lonely" has one worker, restarted after 1.5 s, so the gap is seen.
  server = await startServer(cpuModel('lonely', 'noop_worker.py', '    restart: { backoff: 1500ms }\n') + cpuModel('other', 'noop_worker.py'), [], { pids });
  assert.equal((await call(server.url, 'GET', '/readyz')).status, 200);
  const workers = (await call(server.url, 'GET', '/v1/workers')).json() as Worker[];
  const lonely = workers.find((w) => w.id.startsWith('lonely/'))!;
  assert.ok(lonely.pid);

  process.kill(lonely.pid, 'SIGKILL');
  const down = await waitFor('readyz 503', async () => {
    const r = await call(server!.url, 'GET', '/readyz');
    return r.status === 503 ? r : undefined;
  });
  assertErrorBody(down, 503, 'GPUPOOL_E_NOT_READY', /no ready worker for model "lonely" \(0 of 1 workers ready\)/);
  assert.equal(down.headers.get('retry-after'), '5');
  assert.deepEqual(down.json().models.other, { ready: true, readyWorkers: 1, workers: 1 });

  // Sent while the worker is down: queued, answered by the restarted worker.
  const pending = call(server.url, 'POST', '/v1/models/lonely/infer', { inputs: ['waited'] });
  await waitFor('readyz 200 again', async () => ((await call(server!.url, 'GET', '/readyz')).status === 200 ? true : undefined));
  assert.deepEqual((await pending).json(), { outputs: ['waited'] });
  const back = ((await call(server.url, 'GET', '/v1/workers')).json() as Worker[]).find((w) => w.id === lonely.id)!;
  assert.equal(back.restarts, 1);
  assert.notEqual(back.pid, lonely.pid);
  const metrics = (await call(server.url, 'GET', '/metrics')).text;
  assert.match(metrics, /^gpupool_worker_restarts_total\{worker="lonely\/cpu:0\/0",model="lonely"\} 1$/m);
  assert.match(metrics, /^gpupool_model_ready\{model="lonely"\} 1$/m);
  assert.equal((await server.stop()).code, 0);
});

test('/readyz is 503 while the models load, and /healthz is already 200', async () => {
  server = await startServer(cpuModel('loading', 'slow_worker.py', '    env: { SETUP_SLEEP_MS: 5000 }\n'), [], { pids, waitFor: 'listening' });
  assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
  assertErrorBody(await call(server.url, 'GET', '/readyz'), 503, 'GPUPOOL_E_NOT_READY', /the server is starting/);
  assertErrorBody(await call(server.url, 'POST', '/v1/models/loading/infer', { inputs: [1] }), 503, 'GPUPOOL_E_NOT_READY', /model "loading" is starting/);
  await waitFor('ready', async () => ((await call(server!.url, 'GET', '/readyz')).status === 200 ? true : undefined));
  assert.deepEqual((await call(server.url, 'POST', '/v1/models/loading/infer', { inputs: [1] })).json(), { outputs: [1] });
  assert.equal((await server.stop()).code, 0);
});

test('when every worker of a model gives up, /readyz says so, requests get 503 and its running job fails', async () => {
  const dir = tempDir();
  const marker = path.join(dir, 'fail-now');
  const fixture = path.join(ROOT, 'test/serve/fixtures/fail_on_restart_worker.py');
  const model = `  fragile:\n    command: [python3, ${JSON.stringify(fixture)}]\n    devices: cpu\n    restart: { backoff: 100ms, max_start_failures: 2 }\n    env: { FAIL_MARKER: ${JSON.stringify(marker)} }\n`;
  server = await startServer(model, [], { pids });
  const job = (await call(server.url, 'POST', '/v1/jobs', { inputs: Array.from({ length: 200 }, () => ({ sleep_ms: 20 })) })).json() as { id: string };
  const worker = ((await call(server.url, 'GET', '/v1/workers')).json() as Worker[])[0];
  fs.writeFileSync(marker, '');
  process.kill(worker.pid!, 'SIGKILL');

  const down = await waitFor('the model to be down', async () => {
    const r = await call(server!.url, 'GET', '/readyz');
    return ((await call(server!.url, 'GET', '/v1/workers')).json() as Worker[])[0].state === 'given-up' ? r : undefined;
  });
  assertErrorBody(down, 503, 'GPUPOOL_E_NOT_READY', /no ready worker for model "fragile" \(0 of 1 workers ready\)/);
  assertErrorBody(await call(server.url, 'POST', '/v1/models/fragile/infer', { inputs: [1] }), 503, 'GPUPOOL_E_CRASH_LOOP', /every worker of model "fragile" gave up after crashing on start \(last: .*\); see the worker logs, fix the model and restart the server/);
  const failed = await waitFor('the job to fail', async () => {
    const j = (await call(server!.url, 'GET', `/v1/jobs/${job.id}`)).json() as { state: string; error: { code: string; message: string } | null };
    return j.state === 'failed' ? j : undefined;
  });
  assert.equal(failed.error?.code, 'GPUPOOL_E_CRASH_LOOP');
  assert.match(failed.error!.message, /every worker of model "fragile" is in a crash loop/);
  const snapshot = await call(server.url, 'GET', '/metrics');
  assert.match(snapshot.text, /^gpupool_model_ready\{model="fragile"\} 0$/m);
  assert.match(snapshot.text, /^gpupool_jobs\{state="failed"\} 1$/m);
});
