import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { killAtEnd } from '../helpers/processes.js';
import { assertErrorBody, call, cpuModel, startServer, type RunningServer } from './serve-helpers.js';

let server: RunningServer;
after(async () => {
  const r = await server.stop();
  assert.equal(r.code, 0, `a clean shutdown exits 0: ${r.stderr}`);
});
// Registered after the clean stop above, so it only catches what a failed test left behind.
const pids = killAtEnd();

before(async () => {
  server = await startServer(
    cpuModel('echo', 'noop_worker.py', '    workers_per_device: 2\n    batch: { max: 16, timeout: 2ms }\n') + cpuModel('scripted', 'scripted_worker.py', '    max_attempts: 1\n'),
    ['--body-limit', '64KiB', '--max-inputs', '50'],
    { pids },
  );
});

test('GET /healthz and /readyz answer 200 once every model has a ready worker', async () => {
  const h = await call(server.url, 'GET', '/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.json().status, 'ok');
  const r = await call(server.url, 'GET', '/readyz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json().models, { echo: { ready: true, readyWorkers: 2, workers: 2 }, scripted: { ready: true, readyWorkers: 1, workers: 1 } });
});

test('GET /v1/models lists each model with its workers and queue', async () => {
  const models = (await call(server.url, 'GET', '/v1/models')).json() as { name: string; kind: string; ready: boolean; workers: number; maxQueued: number }[];
  assert.deepEqual(models.map((m) => [m.name, m.kind, m.ready, m.workers]), [['echo', 'process', true, 2], ['scripted', 'process', true, 1]]);
  assert.ok(models.every((m) => m.maxQueued >= 1024), 'the default queue bound is at least 1024 items');
});

test('POST /v1/models/{model}/infer answers outputs in input order, from concurrent clients', async () => {
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, c) => call(server.url, 'POST', '/v1/models/echo/infer', { inputs: Array.from({ length: 30 }, (_, i) => ({ c, i })) })),
  );
  answers.forEach((a, c) => {
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(a.json(), { outputs: Array.from({ length: 30 }, (_, i) => ({ c, i })) });
  });
  const one = await call(server.url, 'POST', '/v1/models/echo/infer', { inputs: ['just one'], timeout_ms: 10_000 });
  assert.deepEqual(one.json(), { outputs: ['just one'] });
});

test('an input that fails alone holds its error in place; the others stand', async () => {
  const a = await call(server.url, 'POST', '/v1/models/scripted/infer', { inputs: [{ echo: 1 }, { item_error: 'image is empty' }, { echo: 3 }] });
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(a.json(), { outputs: [1, { error: { code: 'GPUPOOL_E_ITEM_FAILED', message: 'image is empty' } }, 3] });
});

test('when every input fails, the status and error body are the first failure\'s, with the outputs', async () => {
  const a = await call(server.url, 'POST', '/v1/models/scripted/infer', { inputs: [{ item_error: 'unreadable' }] });
  assertErrorBody(a, 500, 'GPUPOOL_E_ITEM_FAILED', /^unreadable$/);
  assert.deepEqual(a.json().outputs, [{ error: { code: 'GPUPOOL_E_ITEM_FAILED', message: 'unreadable' } }]);
});

test('bad requests get 400/413/415 registry bodies naming the bad value and what is allowed', async () => {
  const infer = (body: unknown, headers?: Record<string, string>) => call(server.url, 'POST', '/v1/models/echo/infer', body, headers);
  assertErrorBody(await infer({}), 400, 'GPUPOOL_E_BAD_REQUEST', /body must have required property 'inputs'/);
  assertErrorBody(await infer({ inputs: 'x' }), 400, 'GPUPOOL_E_BAD_REQUEST', /body\/inputs must be array, got "x"/);
  assertErrorBody(await infer({ inputs: [] }), 400, 'GPUPOOL_E_BAD_REQUEST', /body\/inputs must NOT have fewer than 1 items, got \[\]/);
  assertErrorBody(await infer({ inputs: Array(51).fill(0) }), 400, 'GPUPOOL_E_BAD_REQUEST', /must NOT have more than 50 items/);
  assertErrorBody(await infer({ inputs: [1], extra: true }), 400, 'GPUPOOL_E_BAD_REQUEST', /body has an unknown field "extra"/);
  assertErrorBody(await infer({ inputs: [1], timeout_ms: 0 }), 400, 'GPUPOOL_E_BAD_REQUEST', /body\/timeout_ms must be >= 1, got 0/);
  assertErrorBody(await infer({ inputs: [1], timeout_ms: '5' }), 400, 'GPUPOOL_E_BAD_REQUEST', /timeout_ms must be integer, got "5"/);
  assertErrorBody(await infer('{"inputs": [1,', { 'content-type': 'application/json' }), 400, 'GPUPOOL_E_BAD_REQUEST', /not valid JSON/);
  assertErrorBody(await infer('', { 'content-type': 'application/json' }), 400, 'GPUPOOL_E_BAD_REQUEST', /body is empty/);
  assertErrorBody(await infer('inputs=1', { 'content-type': 'text/plain' }), 415, 'GPUPOOL_E_UNSUPPORTED_MEDIA_TYPE', /Content-Type "text\/plain" is not accepted/);
  // JSONL is for POST /v1/jobs only: here it is a media type like any other the route does not take.
  for (const type of ['application/x-ndjson', 'application/jsonl']) {
    assertErrorBody(await infer('{"inputs": [1]}\n', { 'content-type': type }), 415, 'GPUPOOL_E_UNSUPPORTED_MEDIA_TYPE', new RegExp(`Content-Type "${type}" is not accepted by POST /v1/models/echo/infer: send application/json$`));
  }
  // Where JSONL is taken, the refusal says so.
  assertErrorBody(await call(server.url, 'POST', '/v1/jobs?model=echo', '1\n', { 'content-type': 'text/plain' }), 415, 'GPUPOOL_E_UNSUPPORTED_MEDIA_TYPE', /is not accepted by POST \/v1\/jobs\?model=echo: send application\/json, or application\/x-ndjson for a JSONL body$/);
  assertErrorBody(await infer({ inputs: ['x'.repeat(70_000)] }), 413, 'GPUPOOL_E_BODY_TOO_LARGE', /larger than this server takes: 65536 bytes \(--body-limit\)/);
  assertErrorBody(await call(server.url, 'POST', '/v1/models/bad%20name/infer', { inputs: [1] }), 400, 'GPUPOOL_E_BAD_REQUEST', /params\/model must match pattern/);
});

test('an unknown model or route is a 404 registry body', async () => {
  assertErrorBody(await call(server.url, 'POST', '/v1/models/nope/infer', { inputs: [1] }), 404, 'GPUPOOL_E_UNKNOWN_MODEL', /unknown model "nope"; this server runs: echo, scripted/);
  assertErrorBody(await call(server.url, 'GET', '/v2/nothing?x=1'), 404, 'GPUPOOL_E_NOT_FOUND', /no route GET \/v2\/nothing; GET \/openapi.json lists the routes/);
  assertErrorBody(await call(server.url, 'DELETE', '/v1/models'), 404, 'GPUPOOL_E_NOT_FOUND', /no route DELETE \/v1\/models/);
});

test('GET /v1/devices shows the CPU with memory split between our workers and the rest', async () => {
  const devices = (await call(server.url, 'GET', '/v1/devices')).json() as { key: string; inUse: boolean; memory: Record<string, number> }[];
  const cpu = devices.find((d) => d.key === 'cpu:0');
  assert.ok(cpu, JSON.stringify(devices));
  assert.equal(cpu.inUse, true);
  assert.ok(cpu.memory.total > 0 && cpu.memory.used > 0);
  assert.ok(cpu.memory.workers > 0, 'the workers\' resident memory is counted as ours');
  assert.equal(cpu.memory.workers + cpu.memory.others, cpu.memory.used);
});

test('GET /v1/workers shows every worker with state, pid and batch limits', async () => {
  const workers = (await call(server.url, 'GET', '/v1/workers')).json() as { id: string; state: string; pid: number; limit: number; maxLimit: number; restarts: number }[];
  assert.deepEqual(workers.map((w) => w.id), ['echo/cpu:0/0', 'echo/cpu:0/1', 'scripted/cpu:0/0']);
  for (const w of workers) {
    assert.ok(w.state === 'ready' || w.state === 'busy', w.state);
    assert.ok(Number.isInteger(w.pid) && w.pid > 0);
    assert.ok(w.limit >= 1 && w.limit <= w.maxLimit);
    assert.equal(w.restarts, 0);
  }
  assert.equal(workers[0].maxLimit, 16);
});

test('GET /metrics is Prometheus text with device, worker, queue, batch and latency metrics', async () => {
  await call(server.url, 'POST', '/v1/models/echo/infer', { inputs: [1, 2, 3] });
  const m = await call(server.url, 'GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type') ?? '', /^text\/plain/);
  for (const re of [
    /^gpupool_device_memory_total_bytes\{device="cpu:0",name=".+"\} \d+/m,
    /^gpupool_device_memory_used_bytes\{device="cpu:0",holder="workers"\} \d+/m,
    /^gpupool_worker_state\{worker="echo\/cpu:0\/0",model="echo",device="cpu:0",state="(ready|busy)"\} 1$/m,
    /^gpupool_worker_batch_limit\{worker="echo\/cpu:0\/0",model="echo",device="cpu:0"\} \d+$/m,
    /^gpupool_worker_restarts_total\{worker="echo\/cpu:0\/0",model="echo"\} 0$/m,
    /^gpupool_model_queue_depth\{model="echo"\} \d+$/m,
    /^gpupool_batch_size_count\{model="echo"\} [1-9]\d*$/m,
    /^gpupool_request_duration_seconds_count\{model="echo",outcome="ok"\} [1-9]\d*$/m,
    /^gpupool_request_duration_seconds_count\{model="scripted",outcome="failed"\} [1-9]\d*$/m,
    /^gpupool_jobs\{state="running"\} 0$/m,
  ]) {
    assert.match(m.text, re);
  }
});

test('GET /openapi.json documents every route with its schemas', async () => {
  const doc = (await call(server.url, 'GET', '/openapi.json')).json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } };
  assert.equal(doc.openapi, '3.1.0');
  const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
  assert.deepEqual(routes, [
    'DELETE /v1/jobs/{id}',
    'GET /',
    'GET /dashboard.css',
    'GET /dashboard.js',
    'GET /healthz',
    'GET /metrics',
    'GET /openapi.json',
    'GET /readyz',
    'GET /v1/devices',
    'GET /v1/events',
    'GET /v1/jobs',
    'GET /v1/jobs/{id}',
    'GET /v1/jobs/{id}/results',
    'GET /v1/models',
    'GET /v1/workers',
    'POST /v1/jobs',
    'POST /v1/models/{model}/infer',
  ]);
  const infer = doc.paths['/v1/models/{model}/infer'].post as unknown as { responses: Record<string, { content: Record<string, { schema: { $ref?: string } }> }> };
  assert.equal(infer.responses['429'].content['application/json'].schema.$ref, '#/components/schemas/ErrorBody');
  assert.ok(doc.components.schemas.ErrorBody && doc.components.schemas.Job && doc.components.schemas.Device);
});

test('GET /v1/events streams snapshots as server-sent events', async () => {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/v1/events`, { signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  while (!/event: snapshot\ndata: .*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  const snapshot = JSON.parse(/data: (.*)\n\n/.exec(text)![1]) as { devices: { key: string }[]; workers: unknown[]; models: unknown[]; throughput: { series: Record<string, number[]> } };
  assert.ok(snapshot.devices.some((d) => d.key === 'cpu:0'));
  assert.equal(snapshot.workers.length, 3);
  assert.equal(snapshot.models.length, 2);
  assert.deepEqual(Object.keys(snapshot.throughput.series), ['echo', 'scripted']);
});

test('GET / serves the dashboard page and its assets', async () => {
  const page = await call(server.url, 'GET', '/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.text, /<canvas id="chart"/);
  const js = await call(server.url, 'GET', '/dashboard.js');
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match(js.text, /EventSource/);
  const css = await call(server.url, 'GET', '/dashboard.css');
  assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
});

test('a server started without --allow-root takes no server-side paths', async () => {
  assertErrorBody(await call(server.url, 'POST', '/v1/jobs', { model: 'echo', path: 'items.jsonl' }), 403, 'GPUPOOL_E_PATH_DENIED', /started without --allow-root, so it reads no files of its own/);
});
