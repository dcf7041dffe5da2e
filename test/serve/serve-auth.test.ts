import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { assertErrorBody, call, cpuModel, startServer, type RunningServer } from './serve-helpers.js';

let server: RunningServer;
after(async () => {
  const r = await server?.stop();
  assert.equal(r?.code, 0, r?.stderr);
  assert.match(r?.stderr ?? '', /gpupool: shutting down .*\ngpupool: stopped\n$/, 'the log shows that the shutdown finished');
});
const pids = killAtEnd();
const bearer = { authorization: 'Bearer s3cret-token' };

before(async () => {
  server = await startServer(cpuModel('echo', 'noop_worker.py'), ['--token', 's3cret-token'], { pids });
});

test('with a token, a request without Authorization is 401 with WWW-Authenticate, on every route', async () => {
  for (const [method, route] of [['GET', '/healthz'], ['GET', '/metrics'], ['GET', '/v1/workers'], ['GET', '/'], ['GET', '/no/such/route'], ['POST', '/v1/models/echo/infer']]) {
    const a = await call(server.url, method, route, method === 'POST' ? { inputs: [1] } : undefined);
    assertErrorBody(a, 401, 'GPUPOOL_E_UNAUTHORIZED', /requires `Authorization: Bearer <token>`; the request carries none/);
    assert.equal(a.headers.get('www-authenticate'), 'Bearer realm="gpupool"', route);
  }
});

test('a wrong token or another scheme is 401 naming what is wrong', async () => {
  assertErrorBody(await call(server.url, 'GET', '/healthz', undefined, { authorization: 'Bearer nope' }), 401, 'GPUPOOL_E_UNAUTHORIZED', /does not match/);
  assertErrorBody(await call(server.url, 'GET', '/healthz', undefined, { authorization: 'Basic dXNlcjpwdw==' }), 401, 'GPUPOOL_E_UNAUTHORIZED', /must be "Bearer <token>", got a "Basic" header/);
  assertErrorBody(await call(server.url, 'GET', '/healthz?access_token=nope'), 401, 'GPUPOOL_E_UNAUTHORIZED', /does not match/);
});

test('the right token passes, in the header or as access_token for what a browser loads', async () => {
  assert.equal((await call(server.url, 'GET', '/healthz', undefined, bearer)).status, 200);
  const a = await call(server.url, 'POST', '/v1/models/echo/infer', { inputs: [7] }, bearer);
  assert.deepEqual(a.json(), { outputs: [7] });
  const page = await call(server.url, 'GET', '/?access_token=s3cret-token');
  assert.equal(page.status, 200);
  assert.match(page.text, /href="dashboard\.css\?access_token=s3cret-token"/, 'the page passes the token on to its assets');
  assert.match(page.text, /src="dashboard\.js\?access_token=s3cret-token"/);
  assert.equal((await call(server.url, 'GET', '/dashboard.js?access_token=s3cret-token')).status, 200);
  const doc = (await call(server.url, 'GET', '/openapi.json', undefined, bearer)).json() as { security: unknown[]; components: { securitySchemes: unknown } };
  assert.deepEqual(doc.components.securitySchemes, { bearer: { type: 'http', scheme: 'bearer' } });
});

test('binding beyond loopback without a token is refused before anything starts', async () => {
  const dir = tempDir();
  const config = writeConfig(dir, `models:\n${cpuModel('echo', 'noop_worker.py')}`);
  const r = await runCli(['serve', '-c', config, '--host', '0.0.0.0', '--port', '0', '--state-dir', `${dir}/state`], { env: { GPUPOOL_TOKEN: '' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /GPUPOOL_E_USAGE: --host 0\.0\.0\.0 would expose the server beyond this machine without authentication: pass --token \(or set GPUPOOL_TOKEN\)/);
});

test('GPUPOOL_TOKEN allows binding 0.0.0.0, and then every request needs it', async () => {
  const s = await startServer(cpuModel('echo', 'noop_worker.py'), ['--host', '0.0.0.0'], { env: { GPUPOOL_TOKEN: 'from-env' }, pids, waitFor: 'listening' });
  try {
    const url = s.url.replace('0.0.0.0', '127.0.0.1');
    assert.equal((await call(url, 'GET', '/healthz')).status, 401);
    assert.equal((await call(url, 'GET', '/healthz', undefined, { authorization: 'Bearer from-env' })).status, 200);
  } finally {
    await s.stop();
  }
});
