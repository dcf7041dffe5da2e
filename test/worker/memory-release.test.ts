// `release` (docs/protocol.md): gpupool asks an idle worker to give back the device memory it
// caches, for another worker's item that needs the device whole, and waits for `released`;
// never longer than a timeout, and not at all for a worker that did not offer it in `ready`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { WorkerProcess } from '../../src/worker/index.js';
import { MemoryReleases, RELEASE_TIMEOUT_MS } from '../../src/worker/memory-release.js';
import { tempDir } from '../helpers/cli.js';
import { sdkWorker } from '../helpers/sdk-worker.js';
import { until } from '../helpers/until.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function worker(dir: string, command: string[], env: NodeJS.ProcessEnv = {}, answered: (batch: string) => void = () => {}): WorkerProcess<string> {
  return sdkWorker<string>(dir, command, env, { result: (b) => answered(b), resultLines: (b) => answered(b), failed: (b) => answered(b), exit: () => {} });
}

test('a Python SDK worker gives back what it caches (its release hook runs) and says so', async () => {
  const dir = tempDir();
  const device = path.join(dir, 'device');
  fs.mkdirSync(device);
  const w = worker(dir, ['python3', path.join(root, 'sdk', 'python', 'tests', 'fixtures', 'shared_memory_worker.py')], { SHARED_DEVICE_DIR: device });
  try {
    await w.start();
    assert.equal(w.ready?.release, true);
    fs.writeFileSync(path.join(device, String(w.pid)), '42'); // as if a batch had left 42 in its cache
    await w.releaseMemory();
    assert.equal(fs.readFileSync(path.join(device, String(w.pid)), 'utf8'), '0');
  } finally {
    await w.stop();
  }
});

test('a TypeScript SDK worker offers release only with a release hook, and answers when it has run', async () => {
  const dir = tempDir();
  const marker = path.join(dir, 'released');
  const script = path.join(root, 'test', 'run', 'fixtures', 'ts-release-worker.mjs');
  const withHook = worker(dir, ['node', script], { RELEASE_MARKER: marker });
  const without = worker(dir, ['node', script]);
  try {
    await Promise.all([withHook.start(), without.start()]);
    assert.equal(withHook.ready?.release, true);
    assert.equal(without.ready?.release, undefined);
    await withHook.releaseMemory();
    assert.equal(fs.readFileSync(marker, 'utf8'), 'yes', 'released only after the hook finished');
    await without.releaseMemory(); // at once: nothing was sent, nothing is awaited
  } finally {
    await Promise.all([withHook.stop(), without.stop()]);
  }
});

test('a TypeScript SDK worker gives back its memory only between batches: the hook never runs beside a predict, and batches sent after release wait for it', async () => {
  // A release after a heavy batch comes while the worker may hold other batches (docs/protocol.md).
  // The Python SDK answers it between batches; the TypeScript one ran the hook at once, beside an
  // asynchronous predict that may still use the buffers the hook drops.
  const dir = tempDir();
  const script = path.join(root, 'test', 'run', 'fixtures', 'ts-release-worker.mjs');
  for (const pipeline of ['1', '2']) {
    const marker = path.join(dir, `released-${pipeline}`);
    const events: string[] = [];
    const w = worker(dir, ['node', script], { RELEASE_MARKER: marker, PREDICT_MS: '200', PIPELINE: pipeline }, (b) => events.push(b));
    try {
      await w.start();
      assert.ok(w.dispatch('before', ['1']));
      const released = w.releaseMemory().then(() => events.push('released'));
      assert.ok(w.dispatch('after', ['2']));
      await released;
      await until('both batches answered', () => events.length === 3);
      assert.equal(fs.readFileSync(marker, 'utf8'), 'yes', `pipeline ${pipeline}: the hook ran while a batch was in predict`);
      assert.deepEqual(events, ['before', 'released', 'after'], `pipeline ${pipeline}`);
    } finally {
      await w.stop();
    }
  }
});

test('a request unanswered is settled after the timeout, or at the process end; an answer with none asked is said', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const releases = new MemoryReleases();
  let sent = 0;
  let settled = 0;
  void releases.request(() => sent++).then(() => settled++);
  void releases.request(() => sent++).then(() => settled++);
  assert.equal(sent, 2);
  t.mock.timers.tick(RELEASE_TIMEOUT_MS - 1);
  return Promise.resolve()
    .then(() => assert.equal(settled, 0))
    .then(() => t.mock.timers.tick(1))
    .then(() => new Promise((r) => setImmediate(r)))
    .then(() => {
      assert.equal(settled, 2);
      // Their answers may still come, late: each is taken as theirs, and then one more is said.
      assert.equal(releases.answered(), true);
      assert.equal(releases.answered(), true);
      assert.equal(releases.answered(), false, 'no request left to answer');
      void releases.request(() => sent++).then(() => settled++);
      releases.settleAll();
      return new Promise((r) => setImmediate(r));
    })
    .then(() => assert.equal(settled, 3));
});

test('a late answer to a request that timed out settles no later request: answers come in order', async (t) => {
  // A release after a heavy batch waits behind a batch of the worker's that runs longer than the
  // timeout; a release for a held device asked right after that batch was answered was settled by
  // the late answer to the first, before the worker had even read it.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const releases = new MemoryReleases();
  let first = false;
  let second = false;
  void releases.request(() => {}).then(() => (first = true));
  t.mock.timers.tick(RELEASE_TIMEOUT_MS);
  await new Promise((r) => setImmediate(r));
  assert.equal(first, true, 'timed out');
  void releases.request(() => {}).then(() => (second = true));
  assert.equal(releases.answered(), true, "the first request's answer, late, is not one nobody asked for");
  await new Promise((r) => setImmediate(r));
  assert.equal(second, false, 'the second request is not answered by the answer to the first');
  assert.equal(releases.answered(), true);
  await new Promise((r) => setImmediate(r));
  assert.equal(second, true);
});

test('a request nothing waits for (a cache trimmed as the limit grows) is not timed: it settles at its answer, and no timeout is said', async (t) => {
  // It goes behind the worker's batches, which may run longer than the timeout (a batch of
  // generation): that is no fault of the worker's.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let timedOut = 0;
  const releases = new MemoryReleases(() => timedOut++);
  let settled = false;
  void releases.request(() => {}, false).then(() => (settled = true));
  t.mock.timers.tick(10 * RELEASE_TIMEOUT_MS);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([settled, timedOut], [false, 0]);
  assert.equal(releases.answered(), true);
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, true);
});
