import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { cpuModel, startServer, type RunningServer } from './serve-helpers.js';

let running: RunningServer | undefined;
after(async () => {
  await running?.stop();
});
const pids = killAtEnd();

async function serve(models: string, args: string[] = []) {
  const dir = tempDir();
  const config = writeConfig(dir, `models:\n${models}`);
  // A test's own --port replaces the free one: a port given twice is refused.
  return runCli(['serve', '-c', config, ...(args.includes('--port') ? [] : ['--port', '0']), '--state-dir', path.join(dir, 'state'), ...args]);
}

test('a model that cannot start stops the server with that error and its exit status', async () => {
  const missing = await serve(`  echo:\n    command: [./no-such-worker.sh]\n    devices: cpu\n`);
  assert.equal(missing.code, 5, missing.stderr);
  assert.match(missing.stderr, /GPUPOOL_E_COMMAND_NOT_FOUND: worker command "\.\/no-such-worker\.sh"/);
  const failing = await serve(cpuModel('echo', 'setup_fail_worker.py'));
  assert.equal(failing.code, 6, failing.stderr);
  assert.match(failing.stderr, /listening on http:\/\/127\.0\.0\.1:\d+/);
  assert.match(failing.stderr, /GPUPOOL_E_WORKER_START: worker echo\/cpu:0\/0 failed to start: .*model file not found/);
});

test('bad flags are refused before anything starts, naming the value and what is allowed', async () => {
  const model = cpuModel('echo', 'noop_worker.py');
  const cases: [string[], RegExp][] = [
    [['--port', '70000'], /GPUPOOL_E_USAGE: --port must be an integer in 0\.\.65535 \(0 picks a free port\), got "70000"/],
    [['--body-limit', 'lots'], /GPUPOOL_E_USAGE: --body-limit must be a size like "16MiB" or a number of bytes, got "lots"/],
    [['--request-timeout', '0s'], /GPUPOOL_E_USAGE: --request-timeout must be a duration like "30s" or "500ms", got "0s"/],
    [['--max-queued', '0'], /GPUPOOL_E_USAGE: --max-queued must be an integer ≥ 1, got "0"/],
    [['--allow-root', '/no/such/folder'], /GPUPOOL_E_USAGE: --allow-root \/no\/such\/folder does not exist; it must be an existing folder/],
  ];
  for (const [args, message] of cases) {
    const r = await serve(model, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // A state dir that cannot be made: said, not a stack (under /proc it spun for ever before).
  const configFile = writeConfig(tempDir(), `models:\n${model}`);
  for (const [stateDir, why] of [['/proc/gpupool-test', 'ENOENT'], [configFile, 'ENOTDIR']]) {
    const r = await runCli(['serve', '-c', configFile, '--port', '0', '--state-dir', stateDir], { timeoutMs: 30_000 });
    assert.equal(r.code, 11, r.stderr);
    assert.match(r.stderr, new RegExp(`GPUPOOL_E_OUTPUT: cannot make the folder ${stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} for the server's jobs, journals and results \\(--state-dir\\): ${why}`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('a second server on the same state directory is refused, naming the first', async () => {
  const dir = tempDir();
  running = await startServer(cpuModel('echo', 'noop_worker.py'), [], { pids, dir });
  const second = await runCli(['serve', '-c', path.join(dir, 'gpupool.yaml'), '--port', '0', '--state-dir', path.join(dir, 'state')]);
  assert.equal(second.code, 10, second.stderr);
  assert.match(second.stderr, new RegExp(`GPUPOOL_E_JOURNAL_LOCKED: the journal in .*state/server is in use by PID ${running.child.pid}`));
});

/** Processes of this user whose environment holds `marker` (read from /proc: a worker leaves its server's tree when that exits). */
function processesWith(marker: string): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(marker);
    } catch {
      return false; // gone, or another user's
    }
  }).map(Number);
}

test('a host or port it cannot listen on is a usage error naming both and the cause, and leaves no process behind', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as net.AddressInfo).port;
  const marker = `GPUPOOL_TEST_LISTEN_${process.pid}_${Date.now()}`;
  const model = cpuModel('echo', 'noop_worker.py', `    env: { ${marker}: "1" }\n`);
  const cases: [string[], RegExp][] = [
    [['--port', String(port)], new RegExp(`GPUPOOL_E_USAGE: cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} is taken by another process \\(EADDRINUSE\\); choose another --port`)],
    // .invalid never resolves (RFC 6761); without DNS at all the lookup fails otherwise (EAI_AGAIN).
    [['--host', 'no-such-host.invalid', '--token', 't'], /GPUPOOL_E_USAGE: cannot listen on no-such-host\.invalid:\d+: --host "no-such-host\.invalid" does not resolve to an address \((ENOTFOUND|EAI_AGAIN|EAI_FAIL)\)/],
    // TEST-NET-1 (RFC 5737): no machine's own address.
    [['--host', '192.0.2.1', '--token', 't'], /GPUPOOL_E_USAGE: cannot listen on 192\.0\.2\.1:\d+: 192\.0\.2\.1 is not an address of this machine \(EADDRNOTAVAIL\)/],
  ];
  try {
    for (const [args, message] of cases) {
      const r = await serve(model, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /GPUPOOL_E_INTERNAL|\n\s+at /);
    }
  } finally {
    taken.close();
  }
  assert.deepEqual(processesWith(marker), [], 'a worker outlived the server that could not listen');
});
