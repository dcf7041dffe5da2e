import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { killAtEnd } from '../helpers/processes.js';
import { assertErrorBody, call, cpuModel, startServer, waitFor, type RunningServer } from './serve-helpers.js';

let server: RunningServer;
after(async () => {
  const r = await server?.stop();
  assert.equal(r?.code, 0, r?.stderr);
});
const pids = killAtEnd();

before(async () => {
  // One worker that sleeps per item, at most 4 items of online requests at a time, 2 s deadline.
  server = await startServer(cpuModel('slow', 'slow_worker.py', '    batch: { max: 4, timeout: 1ms, in_flight: 1 }\n'), ['--max-queued', '4', '--request-timeout', '2s'], { pids });
});

async function outstanding(): Promise<number> {
  const models = (await call(server.url, 'GET', '/v1/models')).json() as { outstanding: number }[];
  return models[0].outstanding;
}

test('past --max-queued a request is 429 with Retry-After, at once, and the queued ones still finish', async () => {
  const first = call(server.url, 'POST', '/v1/models/slow/infer', { inputs: [{ sleep_ms: 1500 }, { n: 2 }, { n: 3 }, { n: 4 }] });
  await waitFor('the first request to be queued', async () => ((await outstanding()) === 4 ? true : undefined));
  const refused = await call(server.url, 'POST', '/v1/models/slow/infer', { inputs: [{ n: 5 }] });
  assertErrorBody(refused, 429, 'GPUPOOL_E_OVERLOADED', /model "slow" has 4 items queued or running and takes at most 4 \(--max-queued\); this request brings 1: retry after \d+ s/);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${refused.headers.get('retry-after')}`);
  const a = await first;
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(a.json().outputs.slice(1), [{ n: 2 }, { n: 3 }, { n: 4 }]);
  await waitFor('the queue to empty', async () => ((await outstanding()) === 0 ? true : undefined));
  assert.equal((await call(server.url, 'POST', '/v1/models/slow/infer', { inputs: [{ n: 6 }] })).status, 200, 'taken again once the queue has room');
});

test('a request larger than the queue bound is a 400 that says to split it', async () => {
  assertErrorBody(await call(server.url, 'POST', '/v1/models/slow/infer', { inputs: [1, 2, 3, 4, 5] }), 400, 'GPUPOOL_E_BAD_REQUEST', /carries 5 inputs, more than model "slow" ever queues \(4, --max-queued\)/);
});

test('every request has a deadline: its own timeout_ms, or the server\'s --request-timeout', async () => {
  const own = await call(server.url, 'POST', '/v1/models/slow/infer', { inputs: [{ sleep_ms: 1000 }], timeout_ms: 100 });
  assertErrorBody(own, 504, 'GPUPOOL_E_DEADLINE', /did not finish within its deadline of 100 ms \(0 of 1 inputs answered\)/);
  const server_ = await call(server.url, 'POST', '/v1/models/slow/infer', { inputs: [{ sleep_ms: 4000 }] });
  assertErrorBody(server_, 504, 'GPUPOOL_E_DEADLINE', /deadline of 2000 ms/);
  assertErrorBody(await call(server.url, 'POST', '/v1/models/slow/infer', { inputs: [1], timeout_ms: 5000 }), 400, 'GPUPOOL_E_BAD_REQUEST', /timeout_ms must be <= 2000, got 5000/);
  // The late answers are dropped, and their items leave the queue bound once answered.
  await waitFor('the abandoned items to be answered', async () => ((await outstanding()) === 0 ? true : undefined), 30_000);
  const after_ = await call(server.url, 'POST', '/v1/models/slow/infer', { inputs: ['still serving'] });
  assert.deepEqual(after_.json(), { outputs: ['still serving'] });
});
