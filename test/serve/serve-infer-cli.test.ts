import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { cpuModel, startServer, type RunningServer } from './serve-helpers.js';

let one: RunningServer;
let two: RunningServer;
after(async () => {
  await Promise.all([one?.stop(), two?.stop()]);
});
const pids = killAtEnd();

before(async () => {
  // Limits below the 1,024 inputs infer once sent per request: one bounds the queue, two the request.
  one = await startServer(cpuModel('echo', 'noop_worker.py'), ['--token', 't0k', '--max-queued', '37'], { pids });
  two = await startServer(cpuModel('echo', 'noop_worker.py') + cpuModel('scripted', 'scripted_worker.py', '    max_attempts: 1\n'), ['--max-inputs', '100'], { pids });
});

test('gpupool infer sends its inputs to a running server and prints one output per line', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'more.jsonl');
  fs.writeFileSync(file, '{"from": "file"}\n\n[1, 2]\n');
  const r = await runCli(['infer', '--url', one.url, '{"a": 1}', '42', 'plain text', '-i', file], { env: { GPUPOOL_TOKEN: 't0k' } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [{ a: 1 }, 42, 'plain text', { from: 'file' }, [1, 2]]);
});

test('gpupool infer -i sizes its requests from the server\'s --max-inputs and --max-queued, and writes every output once, in order', async () => {
  const file = writeJsonl(path.join(tempDir(), 'many.jsonl'), 2_500);
  const expected = fs.readFileSync(file, 'utf8');
  for (const [server, env] of [[one, { GPUPOOL_TOKEN: 't0k' }], [two, {}]] as const) {
    const r = await runCli(['infer', '--url', server.url, '-m', 'echo', '-i', file], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected);
  }
});

test('gpupool infer reads JSONL from stdin with -i -, and asks for -m when the server runs several models', async () => {
  const r = await runCli(['infer', '--url', two.url, '-m', 'echo', '-i', '-'], { input: '{"x": 1}\n{"x": 2}\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '{"x":1}\n{"x":2}\n');
  const several = await runCli(['infer', '--url', two.url, '1']);
  assert.equal(several.code, 4, several.stderr);
  assert.match(several.stderr, /GPUPOOL_E_MODEL_REQUIRED: the server at .* runs several models \(echo, scripted\): choose one with -m/);
});

test('gpupool infer: failed inputs print their error line and exit 1; server errors exit with their code', async () => {
  const r = await runCli(['infer', '--url', two.url, '-m', 'scripted', '{"echo": "ok"}', '{"item_error": "bad page"}']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), ['ok', { error: { code: 'GPUPOOL_E_ITEM_FAILED', message: 'bad page' } }]);
  assert.match(r.stderr, /1 of 2 inputs failed/);
  const unknown = await runCli(['infer', '--url', two.url, '-m', 'nope', '1']);
  assert.equal(unknown.code, 4);
  assert.match(unknown.stderr, /GPUPOOL_E_UNKNOWN_MODEL: unknown model "nope"/);
  const denied = await runCli(['infer', '--url', one.url, '1'], { env: { GPUPOOL_TOKEN: 'wrong' } });
  assert.equal(denied.code, 13);
  assert.match(denied.stderr, /GPUPOOL_E_UNAUTHORIZED: the bearer token does not match/);
});

test('gpupool infer without a server, or without inputs, says so', async () => {
  const port = await closedPort();
  const r = await runCli(['infer', '--url', `http://127.0.0.1:${port}`, '1']);
  assert.equal(r.code, 15, r.stderr);
  assert.match(r.stderr, new RegExp(`GPUPOOL_E_SERVER_UNREACHABLE: could not reach the server at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
  const none = await runCli(['infer', '--url', two.url]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /GPUPOOL_E_USAGE: give at least one INPUT/);
});

test('gpupool infer reaches a server on a port that fetch refuses as "bad" (6665-6669), and names a --url that is not http(s)', async () => {
  let server: RunningServer | undefined;
  for (let port = 6665; port <= 6669 && server === undefined; port++) {
    server = await startServer(cpuModel('echo', 'noop_worker.py'), ['--port', String(port)], { pids }).catch(() => undefined); // taken: the next
  }
  assert.ok(server, 'one of the ports 6665-6669 is free');
  try {
    assert.match(server.url, /:666\d$/);
    const r = await runCli(['infer', '--url', server.url, '{"a": 1}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"a":1}\n');
  } finally {
    await server.stop();
  }
  for (const url of ['ftp://127.0.0.1:8000', '127.0.0.1:8000', 'not a url']) {
    const bad = await runCli(['infer', '--url', url, '1']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, new RegExp(`GPUPOOL_E_USAGE: --url \\(or GPUPOOL_URL\\) must be an http:// or https:// URL, like http://127\\.0\\.0\\.1:8000; got "${url}"`));
  }
});

test('gpupool infer: a server that never answers times out after --timeout and some; a redirect names where it leads; a user or a spaced token is refused', async () => {
  const silent = net.createServer(() => undefined); // accepts, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const redirecting = http.createServer((_req, res) => res.writeHead(301, { location: 'https://example.invalid/gpupool/' }).end());
  await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
  try {
    const port = (srv: net.Server) => (srv.address() as net.AddressInfo).port;
    const started = Date.now();
    const hung = await runCli(['infer', '--url', `http://127.0.0.1:${port(silent)}`, '-m', 'm', '--timeout', '1s', '1']);
    assert.equal(hung.code, 15, hung.stderr);
    assert.match(hung.stderr, /GPUPOOL_E_SERVER_UNREACHABLE: could not reach the server at .*: no answer in 6 s \(ETIMEDOUT\)/);
    assert.ok(Date.now() - started < 30_000);
    const moved = await runCli(['infer', '--url', `http://127.0.0.1:${port(redirecting)}`, '-m', 'm', '1']);
    assert.equal(moved.code, 15, moved.stderr);
    assert.match(moved.stderr, /answered 301, a redirect to https:\/\/example\.invalid\/gpupool\/: give --url the address gpupool serve answers on/);
  } finally {
    silent.close();
    redirecting.close();
  }
  const user = await runCli(['infer', '--url', 'http://me:secret@127.0.0.1:8000', '1']);
  assert.equal(user.code, 2);
  assert.match(user.stderr, /GPUPOOL_E_USAGE: --url \(or GPUPOOL_URL\) holds a user or password/);
  for (const url of ['http://127.0.0.1:8000?x=1', 'http://127.0.0.1:8000/#top']) {
    const query = await runCli(['infer', '--url', url, '1']);
    assert.equal(query.code, 2, query.stderr);
    assert.match(query.stderr, /GPUPOOL_E_USAGE: --url \(or GPUPOOL_URL\) must be the server's address, with no query or fragment/);
  }
  const config = writeConfig(tempDir(), `models:\n${cpuModel('echo', 'noop_worker.py')}`);
  for (const command of [['infer', '--url', one.url, '1'], ['serve', '-c', config, '--port', '0']]) {
    const spaced = await runCli(command, { env: { GPUPOOL_TOKEN: 'two words' } });
    assert.equal(spaced.code, 2, `${command[0]}: ${spaced.stderr}`);
    assert.match(spaced.stderr, /GPUPOOL_E_USAGE: --token \(or GPUPOOL_TOKEN\) must be visible ASCII characters with no spaces/);
  }
});

test('gpupool infer: an HTTP error that is not gpupool\'s (a model server\'s, a proxy\'s) is said with its status and body start, not as a bug', async () => {
  // What a proxy or a model server in front may answer: a list of models, then its own errors.
  const answers: Record<string, [number, string]> = {
    json: [404, '{"error": "no route /infer"}'],
    html: [502, '<html><body><h1>502 Bad Gateway</h1></body></html>'],
    other: [500, '{"code": "SOME_OTHER_CODE", "message": "x"}'],
  };
  const foreign = http.createServer((req, res) => {
    if (req.url === '/v1/models') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.keys(answers).map((name) => ({ name, kind: 'process', maxQueued: 1024 }))));
    // No /openapi.json here, as behind a proxy that passes only /v1/… on: infer keeps its default size.
    const [status, body] = answers[req.url!.split('/')[3]] ?? [404, 'not found'];
    res.writeHead(status).end(body);
  });
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(foreign.address() as net.AddressInfo).port}`;
  try {
    for (const [model, [status, body]] of Object.entries(answers)) {
      const r = await runCli(['infer', '--url', url, '-m', model, '1']);
      assert.equal(r.code, 15, `${model}: ${r.stderr}`);
      const quoted = body.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assert.match(r.stderr, new RegExp(`GPUPOOL_E_HTTP_STATUS: ${url}/v1/models/${model}/infer answered HTTP ${status} [A-Za-z ]+, an error that is not gpupool's \\(its body has no gpupool code\\): ${quoted}`));
      assert.doesNotMatch(r.stderr, /GPUPOOL_E_INTERNAL/);
    }
  } finally {
    foreign.close();
  }
});

test('gpupool infer sends a request refused for load (429) or readiness (503 NOT_READY) again after Retry-After: each input answered once', async () => {
  const refusals = [
    [429, 'GPUPOOL_E_OVERLOADED', 'model "m" has 1024 items queued (--max-queued 1024): retry later'],
    [503, 'GPUPOOL_E_NOT_READY', 'no worker of model "m" is ready'],
  ] as const;
  const sent: number[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/v1/models') return void res.writeHead(200, { 'content-type': 'application/json' }).end('[{"name": "m", "kind": "process", "maxQueued": 1024}]');
    if (req.url !== '/v1/models/m/infer') return void res.writeHead(404).end('not found');
    sent.push(Date.now());
    const refusal = refusals[sent.length - 1];
    if (refusal) return void res.writeHead(refusal[0], { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ code: refusal[1], message: refusal[2] }));
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outputs: (JSON.parse(body) as { inputs: unknown[] }).inputs })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const r = await runCli(['infer', '--url', `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, '-m', 'm', '7']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '7\n');
    assert.equal(sent.length, 3, 'twice refused, then answered');
    assert.ok(sent[1] - sent[0] >= 900 && sent[2] - sent[1] >= 900, `waited Retry-After between sends: ${sent[1] - sent[0]}, ${sent[2] - sent[1]} ms`);
  } finally {
    server.close();
  }
});

/** A port nothing listens on: taken from the OS, then given back. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
