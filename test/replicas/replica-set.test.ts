// ReplicaSet over real processes and sockets: the example server started once per (fake)
// card, pinned, balanced, restarted after SIGKILL, taken out when hung, given up in a crash
// loop; start errors name the replica.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { findProcessOwner, snapshotDevices } from '../../src/devices/index.js';
import { GpupoolError } from '../../src/errors/index.js';
import { checkReplicaCommand, ReplicaSet } from '../../src/replicas/index.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { isAlive, killAtEnd } from '../helpers/processes.js';
import { FIXTURES, GPU0, GPU1, httpModel, predict, readPid, startBehindProxy, twoFakeGpus, waitFor } from './helpers.js';

const leftovers = killAtEnd();

test('two replicas start one per card, pinned and named as ours, and requests are balanced between them', async () => {
  const s = await startBehindProxy(httpModel('echo'));
  try {
    const replicas = s.set.describe();
    assert.deepEqual(replicas.map((r) => [r.id, r.deviceKey, r.state]), [
      ['echo/cuda:0/0', 'cuda:0', 'ready'],
      ['echo/cuda:1/0', 'cuda:1', 'ready'],
    ]);
    for (const r of replicas) leftovers.push(r.pid!);

    const seen = new Map<string, { pids: Set<number>; visible: Set<string> }>();
    for (let i = 0; i < 20; i++) {
      const p = await predict(s.url, [i, `x${i}`]);
      assert.equal(p.status, 200);
      assert.deepEqual(p.body.outputs, [i * 2, [...`x${i}`].reverse().join('')]);
      const entry = seen.get(p.replica!) ?? { pids: new Set(), visible: new Set() };
      entry.pids.add(p.body.pid);
      entry.visible.add(p.body.device.cuda_visible_devices);
      assert.equal(p.body.device.worker, p.replica, 'the server sees the id the proxy names');
      seen.set(p.replica!, entry);
    }
    // Both replicas served, each from its own process, each pinned to its own card by UUID.
    assert.deepEqual([...seen.keys()].sort(), ['echo/cuda:0/0', 'echo/cuda:1/0']);
    assert.deepEqual([...seen.get('echo/cuda:0/0')!.visible], [GPU0]);
    assert.deepEqual([...seen.get('echo/cuda:1/0')!.visible], [GPU1]);
    assert.deepEqual([...seen.get('echo/cuda:0/0')!.pids], [replicas[0].pid]);
    assert.deepEqual([...seen.get('echo/cuda:1/0')!.pids], [replicas[1].pid]);
    const served = s.set.describe().map((r) => r.served);
    assert.equal(served[0] + served[1], 20);
    assert.ok(served[0] > 0 && served[1] > 0, `both replicas must serve, got ${served}`);

    // `gpupool devices` reads GPUPOOL_WORKER_ID from /proc: each replica is ours, on its card.
    for (const r of replicas) assert.deepEqual(await findProcessOwner(r.pid!), { worker: r.id, model: 'echo', via: r.pid });
    const { providers, apps } = await twoFakeGpus();
    fs.writeFileSync(apps, `${replicas[0].pid}, ${GPU0}, 300\n${replicas[1].pid}, ${GPU1}, 300\n`);
    const snapshot = await snapshotDevices(providers);
    for (const [i, d] of snapshot.entries()) {
      assert.deepEqual(d.processes.map((p) => [p.pid, p.worker, p.ours, p.misplaced ?? false]), [[replicas[i].pid, replicas[i].id, true, false]]);
    }
    // Each replica logs to its own file.
    assert.deepEqual(fs.readdirSync(s.logDir).sort(), ['echo_cuda_0_0.log', 'echo_cuda_1_0.log']);
    assert.match(fs.readFileSync(path.join(s.logDir, 'echo_cuda_1_0.log'), 'utf8'), new RegExp(`serving on 127\\.0\\.0\\.1:\\d+ \\(pid ${replicas[1].pid}`));
  } finally {
    await s.close();
  }
});

test('the next request goes to the replica with the fewest outstanding requests', async () => {
  const s = await startBehindProxy(httpModel('echo'));
  try {
    const slow = predict(s.url, [1], { sleep_ms: 5000 });
    await waitFor('the slow request to be outstanding', () => s.set.describe().some((r) => r.outstanding === 1));
    const busy = s.set.describe().find((r) => r.outstanding === 1)!.id;
    const quick: string[] = [];
    for (let i = 0; i < 4; i++) quick.push((await predict(s.url, [i])).replica!);
    assert.ok(quick.every((id) => id !== busy), `quick requests went to the idle replica, got ${quick} while ${busy} was busy`);
    const done = await slow;
    assert.equal(done.replica, busy);
    await waitFor('no request outstanding', () => s.set.describe().every((r) => r.outstanding === 0));
  } finally {
    await s.close();
  }
});

test('a SIGKILLed replica is restarted on its card with a new process, and traffic continues', async () => {
  const s = await startBehindProxy(httpModel('echo', { restart: { backoff: '2s' } }));
  try {
    const [victim] = s.set.describe();
    process.kill(victim.pid!, 'SIGKILL');
    await waitFor('the death to be noticed', () => s.set.replicas[0].state !== 'ready');
    // While it is down, the other replica takes everything.
    for (let i = 0; i < 5; i++) {
      const p = await predict(s.url, [i]);
      assert.equal(p.status, 200);
      assert.equal(p.replica, 'echo/cuda:1/0');
    }
    await waitFor('the restart', () => s.set.replicas[0].state === 'ready');
    const after = s.set.describe()[0];
    leftovers.push(after.pid!);
    assert.equal(after.restarts, 1);
    assert.notEqual(after.pid, victim.pid);
    assert.match(after.lastExit ?? '', /was killed by SIGKILL/);
    assert.deepEqual(await findProcessOwner(after.pid!), { worker: 'echo/cuda:0/0', model: 'echo', via: after.pid });
    assert.deepEqual(
      s.events.filter((e) => e.type !== 'worker-ready' || e.restart).map((e) => [e.type, 'worker' in e ? e.worker : '']),
      [
        ['worker-crashed', 'echo/cuda:0/0'],
        ['worker-ready', 'echo/cuda:0/0'],
      ],
    );
    const replicasSeen = new Set<string>();
    const visibleOf = new Map<string, string>();
    for (let i = 0; i < 10; i++) {
      const p = await predict(s.url, [i]);
      assert.equal(p.status, 200);
      replicasSeen.add(p.replica!);
      visibleOf.set(p.replica!, p.body.device.cuda_visible_devices);
    }
    assert.deepEqual([...replicasSeen].sort(), ['echo/cuda:0/0', 'echo/cuda:1/0']);
    assert.equal(visibleOf.get('echo/cuda:0/0'), GPU0, 'the restarted replica is pinned to the same card');
  } finally {
    await s.close();
  }
});

test('a hung replica fails its health checks, leaves the rotation, and is killed and restarted', async () => {
  const s = await startBehindProxy(httpModel('echo', { http: { health_every: '100ms', unhealthy_after: 3 }, restart: { backoff: '50ms' } }));
  const [hung] = s.set.describe();
  try {
    process.kill(hung.pid!, 'SIGSTOP');
    await waitFor('the replica to be marked unhealthy', () => s.set.replicas[0].state === 'unhealthy');
    for (let i = 0; i < 3; i++) assert.equal((await predict(s.url, [i])).replica, 'echo/cuda:1/0');
    await waitFor('the hung replica to be replaced', () => s.set.replicas[0].restarts === 1 && s.set.replicas[0].state === 'ready');
    assert.equal(isAlive(hung.pid!), false, 'the stopped process was killed');
    assert.match(s.set.replicas[0].lastExit ?? '', /failed 3 health checks in a row \(last: no answer within 1000 ms\), killed/);
    const log = fs.readFileSync(path.join(s.logDir, 'echo_cuda_0_0.log'), 'utf8');
    assert.match(log, /health check 1\/3 failed/);
    assert.match(log, /health check 3\/3 failed/);
    leftovers.push(s.set.describe()[0].pid!);
  } finally {
    try {
      process.kill(hung.pid!, 'SIGKILL');
    } catch {
      // killed by the health check, as it should be
    }
    await s.close();
  }
});

test('a replica whose restarts keep dying before healthy is given up, and the model is down', async () => {
  const dir = tempDir();
  const model = httpModel('once', {
    command: ['python3', path.join(FIXTURES, 'once-server.py'), '--port', '{port}'],
    env: { ONCE_MARKER: path.join(dir, 'started') },
    devices: 'cuda:0',
    restart: { backoff: '10ms', max_start_failures: 2 },
  });
  const s = await startBehindProxy(model);
  try {
    process.kill(s.set.describe()[0].pid!, 'SIGKILL');
    await waitFor('the crash-loop guard', () => s.set.down !== undefined);
    const [r] = s.set.describe();
    assert.equal(r.state, 'given-up');
    assert.equal(r.restarts, 2);
    assert.match(r.lastExit ?? '', /exited with code 3; stderr:\ncannot load the model a second time/);
    assert.equal(s.set.down!.code, 'GPUPOOL_E_CRASH_LOOP');
    assert.match(s.set.down!.message, /every replica of model "once" is in a crash loop; last: replica once\/cuda:0\/0 died 2 times in a row before healthy/);
    assert.deepEqual(s.events.map((e) => e.type), ['worker-ready', 'worker-crashed', 'worker-gave-up', 'model-down']);
    const res = await fetch(`${s.url}/predict`, { method: 'POST', body: '{"inputs":[1]}' });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { code: string }).code, 'GPUPOOL_E_CRASH_LOOP');
  } finally {
    await s.close();
  }
});

test('a command without {port} is refused before anything starts, naming the model and its command', async () => {
  const model = httpModel('noport', { command: ['python3', 'server.py', '--port', '8000'] });
  await assert.rejects(ReplicaSet.start({ model, baseDir: ROOT, logDir: tempDir(), providers: (await twoFakeGpus()).providers }), (err: GpupoolError) => {
    assert.equal(err.code, 'GPUPOOL_E_CONFIG');
    assert.equal(
      err.message,
      '`models.noport.command` of a `kind: http` model must contain "{port}" where the server takes its port (e.g. [python3, server.py, --port, "{port}"]), or an `env` value must; got ["python3","server.py","--port","8000"].',
    );
    return true;
  });
  // `{port}` in an env value is as good: some servers read their port from the environment.
  checkReplicaCommand(httpModel('envport', { command: ['python3', 'server.py'], env: { PORT: '{port}' } }));
  assert.throws(() => checkReplicaCommand(httpModel('proc', { kind: 'process', command: ['python3', 'w.py', '{port}'] })), /model "proc" has `kind: process`; only `kind: http` models run as replicas/);
});

test('a replica that never answers its health path fails the start with GPUPOOL_E_REPLICA_START naming it, and is killed', async () => {
  const silent = httpModel('silent', { command: ['python3', '-c', 'import time; time.sleep(60)', '{port}'], devices: 'cuda:1', start_timeout: '1s' });
  const logDir = tempDir();
  await assert.rejects(ReplicaSet.start({ model: silent, baseDir: ROOT, logDir, providers: (await twoFakeGpus()).providers }), (err: GpupoolError) => {
    assert.equal(err.code, 'GPUPOOL_E_REPLICA_START');
    // Refused, as a rule; on a machine too loaded to refuse in time, a probe that timed out.
    assert.match(err.message, /^replica silent\/cuda:1\/0 did not answer GET http:\/\/127\.0\.0\.1:\d+\/health with 2xx within 1000 ms \(start_timeout; last probe: (ECONNREFUSED|no answer within \d+ ms)\); it was killed\./);
    assert.ok(err.message.endsWith(`Log: ${path.join(logDir, 'silent_cuda_1_0.log')}`), err.message);
    return true;
  });
  // The process was killed, and gone before the start failed: its 'close' is what the log records last.
  const logFile = path.join(logDir, 'silent_cuda_1_0.log');
  await waitFor('the log to be flushed', () => fs.readFileSync(logFile, 'utf8').includes('closed:'));
  assert.match(fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').at(-1)!, /closed: was killed by SIGKILL$/);

  // A server that is up but answers its health path with an error is not healthy either.
  const wrongPath = httpModel('wrongpath', { devices: 'cuda:0', start_timeout: '5s', http: { health: '/healthz' } });
  await assert.rejects(ReplicaSet.start({ model: wrongPath, baseDir: ROOT, logDir, providers: (await twoFakeGpus()).providers }), (err: GpupoolError) => {
    assert.equal(err.code, 'GPUPOOL_E_REPLICA_START');
    assert.match(err.message, /^replica wrongpath\/cuda:0\/0 did not answer GET http:\/\/127\.0\.0\.1:\d+\/healthz with 2xx within 5000 ms \(start_timeout; last probe: answered 404\)/);
    return true;
  });
});

test('a replica that exits before it is healthy fails the start with its exit and stderr, and the other replica is stopped', async () => {
  const dir = tempDir();
  // Card 0 starts fine; card 1 dies at load. The whole set fails and card 0's server goes too.
  const script = [
    'import os, runpy, sys',
    `mine = os.path.join(${JSON.stringify(dir)}, os.environ["GPUPOOL_DEVICE_IDS"])`,
    'open(mine + ".tmp", "w").write(str(os.getpid())); os.rename(mine + ".tmp", mine)',
    'if os.environ["GPUPOOL_DEVICE_IDS"] == "1":',
    // Dies only once card 0's server has started, so that there is one to stop.
    `    while not os.path.exists(os.path.join(${JSON.stringify(dir)}, "0")): __import__("time").sleep(0.01)`,
    '    sys.stderr.write("CUDA out of memory while loading weights\\n"); sys.exit(3)',
    `sys.argv = [${JSON.stringify(path.join(ROOT, 'examples', 'http-server', 'server.py'))}, "--port", sys.argv[1]]`,
    'runpy.run_path(sys.argv[0], run_name="__main__")',
  ].join('\n');
  const model = httpModel('dies', { command: ['python3', '-c', script, '{port}'] });
  await assert.rejects(ReplicaSet.start({ model, baseDir: ROOT, logDir: tempDir(), providers: (await twoFakeGpus()).providers }), (err: GpupoolError) => {
    assert.equal(err.code, 'GPUPOOL_E_REPLICA_START');
    assert.match(err.message, /^replica dies\/cuda:1\/0 ended before GET http:\/\/127\.0\.0\.1:\d+\/health answered 2xx: replica dies\/cuda:1\/0 exited with code 3; stderr:\nCUDA out of memory while loading weights\. Log: /);
    return true;
  });
  for (const card of ['0', '1']) {
    const pid = readPid(path.join(dir, card));
    leftovers.push(pid);
    assert.equal(isAlive(pid), false, `the replica on card ${card} is gone`);
  }
});

test('a fixed port (http.port_base) that another process listens on is refused before the server starts, naming it', async () => {
  const squatter = net.createServer((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const port = (squatter.address() as net.AddressInfo).port;
  try {
    const model = httpModel('squatted', { devices: 'cuda:0', http: { port_base: port } });
    const logDir = tempDir();
    await assert.rejects(ReplicaSet.start({ model, baseDir: ROOT, logDir, providers: (await twoFakeGpus()).providers }), (err: GpupoolError) => {
      assert.equal(err.code, 'GPUPOOL_E_REPLICA_START');
      assert.equal(err.message, `replica squatted/cuda:0/0 cannot start on port ${port} of 127.0.0.1 (http.port_base + its index): another process listens there (a server left from an earlier run?); stop that process or choose another http.port_base`);
      return true;
    });
    assert.equal(fs.existsSync(path.join(logDir, 'squatted_cuda_0_0.log')), false, 'no server was started');
  } finally {
    squatter.close();
  }
});
