import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { assertErrorBody, call, cpuModel, startServer, waitFor, type RunningServer } from './serve-helpers.js';

interface Job {
  id: string;
  model: string;
  state: string;
  total: number | null;
  done: number;
  failed: number;
  progress: number | null;
  error: { code: string; message: string } | null;
  results: string;
}
interface Line {
  id: number | string;
  output?: unknown;
  error?: { code: string; message: string };
}

let server: RunningServer;
after(async () => {
  const r = await server?.stop();
  assert.equal(r?.code, 0, r?.stderr);
});
const pids = killAtEnd();
const dir = tempDir('gpupool-serve-jobs-');
const root = path.join(dir, 'data');
const outside = path.join(dir, 'outside');

before(async () => {
  fs.mkdirSync(path.join(root, 'pages'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(root, 'items.jsonl'), Array.from({ length: 50 }, (_, i) => JSON.stringify({ n: i })).join('\n') + '\n');
  fs.writeFileSync(path.join(outside, 'secret.jsonl'), '{"secret": true}\n');
  for (const name of ['a.png', 'b.png', 'c.png']) fs.writeFileSync(path.join(root, 'pages', name), name);
  fs.symlinkSync(path.join(outside, 'secret.jsonl'), path.join(root, 'pages', 'd-link-out.png'));
  fs.symlinkSync(path.join(outside, 'secret.jsonl'), path.join(root, 'link-out.jsonl'));
  fs.symlinkSync(path.join(root, 'items.jsonl'), path.join(root, 'link-in.jsonl'));
  server = await startServer(cpuModel('echo', 'noop_worker.py') + cpuModel('slow', 'slow_worker.py', '    batch: { max: 4, timeout: 1ms }\n'), ['--allow-root', root], { pids, dir });
});

async function submit(body: unknown, query = '', headers?: Record<string, string>): Promise<Job> {
  const a = await call(server.url, 'POST', `/v1/jobs${query}`, body, headers);
  assert.equal(a.status, 201, a.text);
  const job = a.json() as Job;
  assert.equal(a.headers.get('location'), `/v1/jobs/${job.id}`);
  return job;
}

async function finished(id: string): Promise<Job> {
  return waitFor(`job ${id} to finish`, async () => {
    const j = (await call(server.url, 'GET', `/v1/jobs/${id}`)).json() as Job;
    return ['done', 'cancelled', 'failed'].includes(j.state) ? j : undefined;
  }, 60_000);
}

async function results(id: string, url = server.url): Promise<Line[]> {
  const a = await call(url, 'GET', `/v1/jobs/${id}/results`);
  assert.equal(a.status, 200, a.text);
  assert.match(a.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  return a.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
}

test('an inline JSON job runs in the background; its results hold every input once', async () => {
  const job = await submit({ model: 'echo', inputs: Array.from({ length: 1000 }, (_, i) => ({ i })) });
  assert.equal(job.total, 1000);
  const end = await finished(job.id);
  assert.deepEqual([end.state, end.done, end.failed, end.progress], ['done', 1000, 0, 1]);
  const lines = await results(job.id);
  assert.equal(lines.length, 1000);
  assert.deepEqual(new Set(lines.map((l) => l.id)), new Set(Array.from({ length: 1000 }, (_, i) => i + 1)));
  for (const l of lines) assert.deepEqual(l.output, { i: (l.id as number) - 1 });
});

test('a JSONL body is a job too; a malformed line fails alone, named by its line number', async () => {
  const job = await submit('{"a": 1}\n{"b":\n\n{"c": 3}\n', '?model=echo', { 'content-type': 'application/x-ndjson' });
  assert.equal(job.total, 3, 'blank lines are not inputs');
  const end = await finished(job.id);
  assert.deepEqual([end.state, end.total, end.done, end.failed, end.progress], ['done', 3, 2, 1, 1]);
  const byId = new Map((await results(job.id)).map((l) => [l.id, l]));
  assert.deepEqual(byId.get(1)?.output, { a: 1 });
  assert.equal(byId.get(2)?.error?.code, 'GPUPOOL_E_INPUT_PARSE');
  assert.match(byId.get(2)!.error!.message, /line 2 is not valid JSON/);
  assert.deepEqual(byId.get(4)?.output, { c: 3 });
});

test('a JSONL body, or a server-side file, whose last line has no line end and is malformed: that line fails alone (a job is not run again: nothing is held back for a next run)', async () => {
  fs.writeFileSync(path.join(root, 'unfinished.jsonl'), '{"a": 1}\n{"b":');
  for (const job of [await submit('{"a": 1}\n{"b":', '?model=echo', { 'content-type': 'application/x-ndjson' }), await submit({ model: 'echo', path: 'unfinished.jsonl' })]) {
    const end = await finished(job.id);
    assert.deepEqual([end.state, end.total, end.done, end.failed], ['done', 2, 1, 1], job.id);
    const byId = new Map((await results(job.id)).map((l) => [l.id, l]));
    assert.equal(byId.get(2)?.error?.code, 'GPUPOOL_E_INPUT_PARSE');
  }
});

test('GET …/results streams a running job\'s lines as they are committed and ends when it is final', async () => {
  const job = await submit({ model: 'slow', inputs: Array.from({ length: 24 }, (_, i) => ({ i, sleep_ms: 40 })) });
  const lines = await results(job.id); // opened at once: follows the job to its end
  assert.equal(lines.length, 24);
  assert.equal(((await call(server.url, 'GET', `/v1/jobs/${job.id}`)).json() as Job).state, 'done');
});

test('server-side paths inside --allow-root: a JSONL file (relative, absolute, or linked inside) and a folder', async () => {
  for (const p of ['items.jsonl', path.join(root, 'items.jsonl'), 'link-in.jsonl']) {
    const end = await finished((await submit({ model: 'echo', path: p })).id);
    assert.deepEqual([end.state, end.total, end.done], ['done', 50, 50], p);
  }
  const folder = await finished((await submit({ model: 'echo', path: 'pages' })).id);
  assert.deepEqual([folder.state, folder.done, folder.failed], ['done', 3, 1]);
  const lines = await results(folder.id);
  const outputs = lines.filter((l) => l.output).map((l) => (l.output as { path: string }).path).sort();
  assert.deepEqual(outputs, ['a.png', 'b.png', 'c.png'].map((n) => path.join(root, 'pages', n)));
  const denied = lines.find((l) => l.error)!;
  assert.equal(denied.error!.code, 'GPUPOOL_E_PATH_DENIED', 'a link inside the folder that leads out fails that item alone');
  assert.match(denied.error!.message, /d-link-out\.png" leads outside the allowed roots through a symbolic link/);
});

test('server-side paths that leave the allowed roots are refused: "..", absolute paths outside, links out', async () => {
  const refuse = async (p: string, status: number, code: string, message: RegExp) => assertErrorBody(await call(server.url, 'POST', '/v1/jobs', { model: 'echo', path: p }), status, code, message);
  await refuse('../outside/secret.jsonl', 403, 'GPUPOOL_E_PATH_DENIED', /holds a "\.\." segment/);
  await refuse('pages/../../outside/secret.jsonl', 403, 'GPUPOOL_E_PATH_DENIED', /holds a "\.\." segment/);
  await refuse(path.join(outside, 'secret.jsonl'), 403, 'GPUPOOL_E_PATH_DENIED', /lies outside the allowed roots/);
  await refuse('/etc/passwd', 403, 'GPUPOOL_E_PATH_DENIED', /lies outside the allowed roots/);
  await refuse('link-out.jsonl', 403, 'GPUPOOL_E_PATH_DENIED', /leads outside the allowed roots .* through a symbolic link \(to .*secret\.jsonl\)/);
  await refuse('missing.jsonl', 404, 'GPUPOOL_E_INPUT_NOT_FOUND', /"missing\.jsonl" does not exist/);
});

test('bad job requests are 400/404 registry bodies', async () => {
  const post = (body: unknown) => call(server.url, 'POST', '/v1/jobs', body);
  assertErrorBody(await post({ inputs: [1] }), 400, 'GPUPOOL_E_MODEL_REQUIRED', /runs several models \(echo, slow\): name one in "model"/);
  assertErrorBody(await post({ model: 'nope', inputs: [1] }), 404, 'GPUPOOL_E_UNKNOWN_MODEL', /unknown model "nope"; this server runs: echo, slow/);
  assertErrorBody(await post({ model: 'echo' }), 400, 'GPUPOOL_E_BAD_REQUEST', /exactly one of "inputs".*got none/);
  assertErrorBody(await post({ model: 'echo', inputs: [1], path: 'items.jsonl' }), 400, 'GPUPOOL_E_BAD_REQUEST', /got inputs and path/);
  assertErrorBody(await post({ model: 'echo', inputs: [] }), 400, 'GPUPOOL_E_BAD_REQUEST', /"inputs" is empty/);
  assertErrorBody(await post({ model: 'echo', inputs: [1], priority: 1 }), 400, 'GPUPOOL_E_BAD_REQUEST', /unknown field "priority"/);
  assertErrorBody(await call(server.url, 'GET', '/v1/jobs/not-an-id'), 400, 'GPUPOOL_E_BAD_REQUEST', /params\/id must match pattern/);
  assertErrorBody(await call(server.url, 'GET', '/v1/jobs/mwr0zfwy-bb9ae0fb5a3c'), 404, 'GPUPOOL_E_NOT_FOUND', /no job "mwr0zfwy-bb9ae0fb5a3c"/);
  assertErrorBody(await call(server.url, 'DELETE', '/v1/jobs/mwr0zfwy-bb9ae0fb5a3c'), 404, 'GPUPOOL_E_NOT_FOUND');
});

test('DELETE cancels a running job: reading stops, committed results stay readable, the stream ends', async () => {
  const job = await submit({ model: 'slow', inputs: Array.from({ length: 400 }, (_, i) => ({ i, sleep_ms: 20 })) });
  await waitFor('some results', async () => (((await call(server.url, 'GET', `/v1/jobs/${job.id}`)).json() as Job).done > 0 ? true : undefined));
  const cancelled = await call(server.url, 'DELETE', `/v1/jobs/${job.id}`);
  assert.equal(cancelled.status, 200);
  const view = cancelled.json() as Job;
  assert.equal(view.state, 'cancelled');
  assert.ok(view.done > 0 && view.done < 400, `done ${view.done}`);
  const lines = await results(job.id);
  assert.ok(lines.length >= 1 && lines.length < 400);
  assert.equal(new Set(lines.map((l) => l.id)).size, lines.length, 'no input twice');
  assert.equal((await call(server.url, 'DELETE', `/v1/jobs/${job.id}`)).json().state, 'cancelled', 'cancelling a final job answers it as it is');
  const listed = (await call(server.url, 'GET', '/v1/jobs')).json() as Job[];
  assert.ok(listed.some((j) => j.id === job.id && j.state === 'cancelled'));
});

test('a job survives a server killed mid-job: the next server resumes it, every input once', async () => {
  const state = tempDir('gpupool-serve-restart-');
  const models = cpuModel('slow', 'slow_worker.py', '    batch: { max: 4, timeout: 1ms }\n');
  const first = await startServer(models, [], { pids, dir: state });
  const submitted = await call(first.url, 'POST', '/v1/jobs', { inputs: Array.from({ length: 80 }, (_, i) => ({ i, sleep_ms: 30 })) });
  const id = (submitted.json() as Job).id;
  const resultsFile = path.join(state, 'state', 'jobs', id, 'results.jsonl');
  await waitFor('some results committed', async () => (fs.existsSync(resultsFile) && fs.readFileSync(resultsFile, 'utf8').split('\n').length > 8 ? true : undefined));
  const workerPids = ((await call(first.url, 'GET', '/v1/workers')).json() as { pid: number }[]).map((w) => w.pid);
  pids.push(...workerPids);
  first.child.kill('SIGKILL');
  await first.done;
  const before = fs.readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean).length;
  assert.ok(before > 0 && before < 80, `the first server wrote ${before} of 80 results`);

  const second = await startServer(models, [], { pids, dir: state });
  try {
    const end = await waitFor('the job to finish on the second server', async () => {
      const j = (await call(second.url, 'GET', `/v1/jobs/${id}`)).json() as Job;
      return j.state === 'done' ? j : undefined;
    }, 60_000);
    assert.deepEqual([end.done, end.failed, end.total], [80, 0, 80]);
    const lines = await results(id, second.url);
    assert.equal(lines.length, 80, 'nothing lost, nothing doubled');
    assert.deepEqual(new Set(lines.map((l) => l.id)), new Set(Array.from({ length: 80 }, (_, i) => i + 1)));
  } finally {
    await second.stop();
  }
});

test('a job left by a killed server, found by a server that does not run its model: queued, saying why, its committed results shown and served; DELETE cancels it', async () => {
  const state = tempDir('gpupool-serve-other-model-');
  const first = await startServer(cpuModel('slow', 'slow_worker.py', '    batch: { max: 4, timeout: 1ms }\n'), [], { pids, dir: state });
  const id = ((await call(first.url, 'POST', '/v1/jobs', { inputs: Array.from({ length: 80 }, (_, i) => ({ i, sleep_ms: 30 })) })).json() as Job).id;
  const resultsFile = path.join(state, 'state', 'jobs', id, 'results.jsonl');
  await waitFor('some results committed', async () => (fs.existsSync(resultsFile) && fs.readFileSync(resultsFile, 'utf8').split('\n').length > 8 ? true : undefined));
  pids.push(...((await call(first.url, 'GET', '/v1/workers')).json() as { pid: number }[]).map((w) => w.pid));
  first.child.kill('SIGKILL');
  await first.done;

  const second = await startServer(cpuModel('echo', 'noop_worker.py'), [], { pids, dir: state });
  try {
    const job = (await call(second.url, 'GET', `/v1/jobs/${id}`)).json() as Job & { waiting: string | null };
    assert.equal(job.state, 'queued');
    assert.ok(job.done > 0 && job.done < 80, `done ${job.done}`);
    assert.equal(job.waiting, 'model "slow" is not one this server runs (echo): the job stays queued for a server started with a config that has it; DELETE cancels it');
    const cancelled = await call(second.url, 'DELETE', `/v1/jobs/${id}`);
    assert.equal(cancelled.status, 200, cancelled.text);
    const after = (await call(second.url, 'GET', `/v1/jobs/${id}`)).json() as Job & { waiting: string | null };
    assert.deepEqual([after.state, after.done, after.waiting], ['cancelled', job.done, null]);
    // Final now, its stream ends: with every committed line (a queued job's stream waits for it to end).
    assert.equal((await results(id, second.url)).length, job.done + job.failed, 'its committed results are served');
  } finally {
    await second.stop();
  }
});

const STOPPED_JOB_TITLES = {
  'JSONL file': 'a server-side JSONL file changed while its job was stopped is not resumed by position: the job fails naming it',
  folder: 'a server-side folder changed while its job was stopped is not resumed by position: the job fails naming it',
  'folder grown at its end': 'a server-side folder that only gained files after its last while its job was stopped is resumed, and its new files run',
  'JSONL file grown at its end': 'a server-side JSONL file that only gained lines after its last while its job was stopped is resumed, and its new lines run',
  'results cut': 'a job whose results file was cut while it was stopped fails, and its results stream ends with what the file holds',
} as const;
for (const kind of Object.keys(STOPPED_JOB_TITLES) as (keyof typeof STOPPED_JOB_TITLES)[]) {
  const grown = kind === 'folder grown at its end' || kind === 'JSONL file grown at its end';
  const jsonl = kind === 'JSONL file' || kind === 'results cut' || kind === 'JSONL file grown at its end';
  test(STOPPED_JOB_TITLES[kind], async () => {
    const state = tempDir('gpupool-serve-edited-');
    const data = path.join(state, 'data');
    fs.mkdirSync(data);
    const file = path.join(data, 'items.jsonl');
    const pages = path.join(data, 'pages');
    if (jsonl) fs.writeFileSync(file, Array.from({ length: 80 }, (_, i) => JSON.stringify({ i, sleep_ms: 30 })).join('\n') + '\n');
    else {
      fs.mkdirSync(pages);
      for (let i = 0; i < 80; i++) fs.writeFileSync(path.join(pages, `p${String(i).padStart(2, '0')}.png`), '');
    }
    const models = cpuModel('slow', 'slow_worker.py', '    batch: { max: 4, timeout: 1ms }\n    env: { ITEM_SLEEP_MS: "30" }\n');
    const first = await startServer(models, ['--allow-root', data], { pids, dir: state });
    const id = ((await call(first.url, 'POST', '/v1/jobs', { model: 'slow', path: jsonl ? file : pages })).json() as Job).id;
    const resultsFile = path.join(state, 'state', 'jobs', id, 'results.jsonl');
    await waitFor('some results committed', async () => (fs.existsSync(resultsFile) && fs.readFileSync(resultsFile, 'utf8').split('\n').length > 8 ? true : undefined));
    pids.push(...((await call(first.url, 'GET', '/v1/workers')).json() as { pid: number }[]).map((w) => w.pid));
    first.child.kill('SIGKILL');
    await first.done;
    // Every input moves down one; or, grown, a file or a line after the last; or the results lose their end.
    if (kind === 'JSONL file') fs.writeFileSync(file, `{"i":"inserted"}\n${fs.readFileSync(file, 'utf8')}`);
    else if (kind === 'JSONL file grown at its end') fs.appendFileSync(file, '{"i":"appended"}\n');
    else if (kind === 'results cut') fs.truncateSync(resultsFile, 10);
    else fs.writeFileSync(path.join(pages, grown ? 'z-last.png' : 'a-first.png'), '');

    const second = await startServer(models, ['--allow-root', data], { pids, dir: state });
    try {
      const end = await waitFor('the job to end on the second server', async () => {
        const j = (await call(second.url, 'GET', `/v1/jobs/${id}`)).json() as Job;
        return j.state === 'done' || j.state === 'failed' ? j : undefined;
      }, 60_000);
      if (grown) {
        assert.equal(end.state, 'done', JSON.stringify(end.error));
        const ids = (await call(second.url, 'GET', `/v1/jobs/${id}/results`)).text.split('\n').filter((l) => l !== '').map((l) => String((JSON.parse(l) as Line).id));
        assert.equal(ids.length, 81);
        assert.equal(new Set(ids).size, 81, 'each input once');
        assert.ok(ids.includes(jsonl ? '81' : path.join(pages, 'z-last.png')));
        return;
      }
      if (kind === 'results cut') {
        assert.equal(end.state, 'failed');
        const served = await call(second.url, 'GET', `/v1/jobs/${id}/results`); // it ended: no wait for bytes that are gone
        assert.equal(served.text, fs.readFileSync(resultsFile, 'utf8').slice(0, served.text.length));
        return;
      }
      assert.equal(end.state, 'failed');
      assert.equal(end.error?.code, 'GPUPOOL_E_JOURNAL_MISMATCH');
      assert.match(end.error!.message, /^the input changed since the journal in .* was made/);
      assert.match(end.error!.message, /differs in: inputState\nits results so far stay served; to run the input as it is now, submit it again as a new job$/);
      // What the first server committed is still the job's, and served.
      assert.ok(end.done > 0, `done: ${end.done}`);
      const served = (await call(second.url, 'GET', `/v1/jobs/${id}/results`)).text.split('\n').filter((l) => l !== '');
      assert.equal(served.length, end.done + end.failed);
      if (kind === 'folder') assert.match(end.error!.message, /"inputState":"80 files, listing sha256 [0-9a-f]{32}".*"inputState":"81 files, /s);
    } finally {
      await second.stop();
    }
  });
}
