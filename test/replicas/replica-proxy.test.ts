// The proxy over real sockets: a bare Fastify instance with the replica routes in front of
// real example-server replicas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import Fastify from 'fastify';
import { resolveConfig } from '../../src/config/index.js';
import type { PoolEvent } from '../../src/pool/index.js';
import { pickFreePort, registerHttpModels } from '../../src/replicas/index.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { httpModel, predict, SERVER, startBehindProxy, twoFakeGpus, waitFor } from './helpers.js';

const leftovers = killAtEnd();

interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

/** A POST through node:http: chunked when `chunks` is given, so no length is declared. */
function post(url: string, body: Buffer, chunks?: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream' };
    if (!chunks) headers['content-length'] = body.length;
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    if (!chunks) return void req.end(body);
    const size = Math.ceil(body.length / chunks);
    for (let i = 0; i < body.length; i += size) req.write(body.subarray(i, i + size));
    req.end();
  });
}

test('503 with Retry-After while no replica is ready, then 200 once it is back', async () => {
  const s = await startBehindProxy(httpModel('echo', { devices: 'cuda:0', restart: { backoff: '1500ms' } }));
  try {
    process.kill(s.set.describe()[0].pid!, 'SIGKILL');
    await waitFor('the replica to be restarting', () => s.set.replicas[0].state === 'restarting');
    const res = await fetch(`${s.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":[1]}' });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.deepEqual(await res.json(), {
      statusCode: 503,
      code: 'GPUPOOL_E_NOT_READY',
      error: 'Service Unavailable',
      message: 'no replica of model "echo" is ready (echo/cuda:0/0: restarting)',
    });
    await waitFor('the restart', () => s.set.replicas[0].state === 'ready');
    leftovers.push(s.set.describe()[0].pid!);
    const p = await predict(s.url, [21]);
    assert.equal(p.status, 200);
    assert.deepEqual(p.body.outputs, [42]);
  } finally {
    await s.close();
  }
});

test('bodies stream both ways unchanged; paths, queries and the replica\'s own statuses pass through', async () => {
  const s = await startBehindProxy(httpModel('echo'), { bodyLimit: 16 << 20 });
  try {
    const big = crypto.randomBytes(3 << 20);
    const declared = await post(`${s.url}/echo`, big);
    assert.equal(declared.status, 200);
    assert.equal(declared.headers['content-type'], 'application/octet-stream');
    assert.match(String(declared.headers['x-gpupool-replica']), /^echo\/cuda:[01]\/0$/);
    assert.ok(declared.body.equals(big), 'a 3 MiB body comes back byte for byte');

    // A chunked body (no length up front) streams through and back, chunked.
    const streamed = crypto.randomBytes(1 << 20);
    const chunked = await post(`${s.url}/echo`, streamed, 16);
    assert.equal(chunked.status, 200);
    assert.equal(chunked.headers['transfer-encoding'], 'chunked');
    assert.ok(chunked.body.equals(streamed), 'a 1 MiB chunked body comes back byte for byte');

    const info = await fetch(`${s.url}/info?verbose=1`);
    assert.equal(info.status, 200);
    const pids = s.set.describe().map((r) => r.pid);
    assert.ok(pids.includes(((await info.json()) as { pid: number }).pid));

    const missing = await fetch(`${s.url}/nowhere`);
    assert.equal(missing.status, 404, 'the replica\'s own 404 passes through');
    assert.match(missing.headers.get('x-gpupool-replica') ?? '', /^echo\//);
    assert.deepEqual(await missing.json(), { error: 'no route /nowhere' });

    const bad = await fetch(`${s.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"nope": 1}' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /expected \{"inputs": \[\.\.\.\]\}/);
    await waitFor('no request outstanding', () => s.set.describe().every((r) => r.outstanding === 0));
  } finally {
    await s.close();
  }
});

test('a refused connection sends the request, body and all, to another replica, and the refusing one leaves the rotation', async () => {
  const s = await startBehindProxy(httpModel('echo', { http: { health_every: '1h' } }));
  try {
    // Replica 0's server stops listening (its process lives on): point it at a closed port.
    const [gone, other] = s.set.replicas;
    gone.port = await pickFreePort('127.0.0.1');
    const body = crypto.randomBytes(200_000);
    for (let i = 0; i < 2; i++) {
      const res = await post(`${s.url}/echo`, body);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-gpupool-replica'], other.id);
      assert.ok(res.body.equals(body), 'the body was not consumed by the refused attempt');
    }
    // The refusal triggered a health check at once: no waiting for the next period.
    await waitFor('the refusing replica to be out of the rotation', () => gone.state === 'unhealthy');
    await waitFor('no request outstanding', () => s.set.describe().every((r) => r.outstanding === 0));
  } finally {
    await s.close();
  }
});

test('a body over the limit is answered 413, whether declared or streamed, and the replica stays usable', async () => {
  const s = await startBehindProxy(httpModel('echo', { devices: 'cuda:0' }), { proxy: { bodyLimit: 4096 } });
  try {
    for (const chunks of [undefined, 8]) {
      const res = await post(`${s.url}/echo`, Buffer.alloc(5000, 1), chunks);
      assert.equal(res.status, 413);
      const body = JSON.parse(res.body.toString()) as ErrorBody;
      assert.equal(body.code, 'GPUPOOL_E_BODY_TOO_LARGE');
      assert.equal(body.error, 'Payload Too Large');
      assert.match(body.message, chunks ? /is more than 4096 bytes; the limit is 4096 bytes/ : /is 5000 bytes; the limit is 4096 bytes/);
    }
    const ok = await post(`${s.url}/echo`, Buffer.alloc(4096, 2));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.length, 4096);
    await waitFor('nothing outstanding', () => s.set.describe()[0].outstanding === 0);
  } finally {
    await s.close();
  }
});

test('a request in flight on a replica that dies is answered 502 naming the replica', async () => {
  const s = await startBehindProxy(httpModel('echo', { devices: 'cuda:0', restart: { backoff: '100ms' } }));
  try {
    const pending = fetch(`${s.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":[1],"sleep_ms":5000}' });
    await waitFor('the request to be outstanding', () => s.set.describe()[0].outstanding === 1);
    process.kill(s.set.describe()[0].pid!, 'SIGKILL');
    const res = await pending;
    assert.equal(res.status, 502);
    const body = (await res.json()) as ErrorBody;
    assert.equal(body.code, 'GPUPOOL_E_REPLICA_FAILED');
    assert.match(body.message, /^replica echo\/cuda:0\/0 \(127\.0\.0\.1:\d+\) of model "echo" dropped the request: (ECONNRESET|socket hang up)$/);
    await waitFor('the replica to be free', () => s.set.describe()[0].outstanding === 0);
    await waitFor('the restart', () => s.set.replicas[0].state === 'ready');
    leftovers.push(s.set.describe()[0].pid!);
  } finally {
    await s.close();
  }
});

test('a request running past http.request_timeout is answered 504 and frees its replica', async () => {
  const s = await startBehindProxy(httpModel('echo', { devices: 'cuda:0', http: { request_timeout: '300ms' } }));
  try {
    const res = await fetch(`${s.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":[1],"sleep_ms":3000}' });
    assert.equal(res.status, 504);
    assert.deepEqual(await res.json(), {
      statusCode: 504,
      code: 'GPUPOOL_E_DEADLINE',
      error: 'Gateway Timeout',
      message: 'replica echo/cuda:0/0 of model "echo" did not answer within 300 ms (http.request_timeout)',
    });
    await waitFor('the replica to be free', () => s.set.describe()[0].outstanding === 0);
  } finally {
    await s.close();
  }
});

test('a client that goes away frees its replica', async () => {
  const s = await startBehindProxy(httpModel('echo', { devices: 'cuda:1' }));
  try {
    const abort = new AbortController();
    const pending = predict(s.url, [1], { sleep_ms: 3000 }, abort.signal).catch((err: Error) => err);
    await waitFor('the request to be outstanding', () => s.set.describe()[0].outstanding === 1);
    abort.abort();
    assert.equal(((await pending) as Error).name, 'AbortError');
    await waitFor('the replica to be free', () => s.set.describe()[0].outstanding === 0);
    assert.equal((await predict(s.url, [2])).status, 200);
  } finally {
    await s.close();
  }
});

test('registerHttpModels, gpupool serve\'s seam: 503 while the replicas start, proxied once they are up', async () => {
  const config = resolveConfig({ models: { echo: { kind: 'http', command: ['python3', SERVER, '--port', '{port}'] }, batchy: { command: ['python3', 'w.py'] } } }, ROOT);
  const events: PoolEvent[] = [];
  const app = Fastify();
  // As serve does for its process models: these must not shadow the replica routes.
  app.post('/v1/models/:model/infer', async () => ({ front: 'end' }));
  const models = registerHttpModels(app, {
    config,
    models: [config.models.echo],
    logDir: tempDir(),
    providers: (await twoFakeGpus()).providers,
    onEvent: (e) => events.push(e),
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const early = await fetch(`${base}/v1/models/echo/predict`, { method: 'POST', body: '{"inputs":[1]}' });
    assert.equal(early.status, 503);
    assert.equal(early.headers.get('retry-after'), '1');
    assert.equal(((await early.json()) as ErrorBody).message, 'model "echo" is starting: its replicas are not up yet');
    assert.equal(models.readyCount('echo'), 0);

    await models.start();
    for (const r of models.replicas()) leftovers.push(r.pid!);
    assert.equal(models.readyCount('echo'), 2);
    assert.deepEqual(models.replicas().map((r) => [r.id, r.device, r.state, r.restarts]), [
      ['echo/cuda:0/0', 'cuda:0', 'ready', 0],
      ['echo/cuda:1/0', 'cuda:1', 'ready', 0],
    ]);
    const p = await predict(`${base}/v1/models/echo`, [5]);
    assert.equal(p.status, 200);
    assert.deepEqual(p.body.outputs, [10]);
    assert.deepEqual(events.map((e) => e.type), ['worker-ready', 'worker-ready']);
    // The per-model routes win over the front end's parametric one: `infer` goes to the replica.
    const infer = await fetch(`${base}/v1/models/echo/infer`, { method: 'POST', body: '{}' });
    assert.equal(infer.status, 404);
    assert.match(infer.headers.get('x-gpupool-replica') ?? '', /^echo\//);
    assert.deepEqual(await infer.json(), { error: 'no route /infer' });
    // Only `kind: http` models get routes here; the rest belong to the front end.
    const batchy = await fetch(`${base}/v1/models/batchy/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.deepEqual(await batchy.json(), { front: 'end' });
  } finally {
    await app.close();
    await models.close();
  }
  assert.deepEqual(models.replicas().map((r) => r.state), ['stopped', 'stopped']);
});
