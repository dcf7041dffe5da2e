/**
 * Whether a recorded PID can be judged here. The records from "another container" are written
 * by hand, as a holder in another PID namespace would write them: making a namespace needs
 * privileges that a CI machine may not give (bench/journal/pid-namespace-check.sh runs it for real).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { test } from 'node:test';
import { describePidHolder, isGoneHere, pidScope, placeOfPid } from '../../src/store/pid-scope.js';

const mine = pidScope();
const otherNamespace = 'a-boot-id-of-this-host pid:[4026532999]';

test('the scope is this boot and PID namespace, read from /proc', () => {
  assert.ok(mine, 'Linux tells its boot id and PID namespace');
  assert.match(mine, /^[0-9a-f-]{36} pid:\[\d+\]$/);
});

test('a record is this process, here, a container sharing the hostname, or elsewhere', () => {
  const host = os.hostname();
  assert.equal(placeOfPid({ pid: process.pid, hostname: host, pidScope: mine }), 'this process');
  assert.equal(placeOfPid({ pid: process.pid + 1, hostname: host, pidScope: mine }), 'here');
  // PID 1 in a container with host networking: our PID may well be its PID, and it is not us.
  assert.equal(placeOfPid({ pid: process.pid, hostname: host, pidScope: otherNamespace }), 'same hostname, other PIDs');
  // Written by a gpupool that did not record its scope: its PID cannot be trusted here.
  assert.equal(placeOfPid({ pid: process.pid, hostname: host }), 'same hostname, other PIDs');
  assert.equal(placeOfPid({ pid: process.pid, hostname: `${host}-not`, pidScope: otherNamespace }), 'elsewhere');
  assert.equal(placeOfPid({ pid: process.pid, hostname: `${host}-not` }), 'elsewhere');
  // Another UTS namespace (its own hostname) in our PID namespace: its PIDs are ours.
  assert.equal(placeOfPid({ pid: 3, hostname: `${host}-not`, pidScope: mine }), 'here');
});

test('a process is known gone only where its PID can be looked up', async () => {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  const host = os.hostname();
  assert.equal(isGoneHere({ pid, hostname: host, pidScope: mine }), true);
  assert.equal(isGoneHere({ pid, hostname: host, pidScope: otherNamespace }), false, 'not ours to judge');
  assert.equal(isGoneHere({ pid, hostname: host }), false, 'no scope: not ours to judge');
  assert.equal(isGoneHere({ pid: process.pid, hostname: host, pidScope: mine }), false, 'this process runs');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
  try {
    assert.equal(isGoneHere({ pid: live.pid!, hostname: host, pidScope: mine }), false);
  } finally {
    live.kill('SIGKILL');
  }
});

test('messages tell a holder in another PID namespace from this process', () => {
  const host = os.hostname();
  assert.equal(describePidHolder({ pid: process.pid, hostname: host, pidScope: mine }), `this process (PID ${process.pid})`);
  assert.equal(
    describePidHolder({ pid: process.pid, hostname: host, pidScope: otherNamespace }),
    `PID ${process.pid} on ${host} (in another PID namespace, such as another container)`,
  );
  assert.equal(describePidHolder({ pid: 7, hostname: 'gpu-3' }), 'PID 7 on gpu-3');
  assert.equal(
    describePidHolder({ pid: 7, hostname: host }),
    `PID 7 on ${host} (written by another gpupool version, which did not say where its PIDs count)`,
    'an older record: not judged, and not called a container',
  );
});
