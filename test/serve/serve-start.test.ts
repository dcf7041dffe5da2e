import assert from 'node:assert/strict';
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
  return runCli(['serve', '-c', config, '--port', '0', '--state-dir', path.join(dir, 'state'), ...args]);
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
