import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { pyWorker, readOutput, runCli, tempDir, writeConfig, writeJsonl, type CliResult } from '../helpers/cli.js';
import { limitedSpace, type LimitedSpace } from './limited-space.js';

const MiB = 1 << 20;

/** The run stopped the way a full disk must stop it: exit 11, the code, the path, the remedy, no stack. */
function assertStoppedForRoom(r: CliResult, space: LimitedSpace, file: RegExp): void {
  assert.equal(r.code, 11, `exit ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, /^gpupool: GPUPOOL_E_DISK_FULL: /m);
  assert.match(r.stderr, space.kind === 'tmpfs' ? /\((ENOSPC|SQLITE_FULL)\)/ : /\((EFBIG|SQLITE_IOERR_WRITE|SQLITE_FULL)\)/);
  const named = new RegExp(`${space.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\S*${file.source}`);
  assert.match(r.stderr, named, 'the message names the file that could not be written');
  assert.match(r.stderr, /run the same command again/);
  assert.doesNotMatch(r.stderr, /GPUPOOL_E_INTERNAL|Unhandled|\n\s+at /, 'a clear error, not a crash');
}

/** After the stop and more room: the same command finishes, resuming, and every id is there once with its own output. */
/** `committedBefore`: whether the run is known to have committed a group before the disk filled. */
async function assertResumes(space: LimitedSpace, args: string[], out: string, n: number, committedBefore = true): Promise<void> {
  space.makeRoom();
  const again = await space.run([...args, '--json']);
  assert.equal(again.code, 0, again.stderr);
  const summary = JSON.parse(again.stdout) as { resumed: number; done: number };
  if (committedBefore) assert.ok(summary.resumed > 0, 'resumed from the journal, not started over');
  assert.equal(summary.resumed + summary.done, n);
  const lines = readOutput(out);
  assert.equal(lines.length, n, 'nothing written twice, nothing missing');
  assert.equal(new Set(lines.map((l) => l.id)).size, n);
  for (const l of lines) assert.equal((l.output as { n: number }).n, (l.id as number) - 1);
}

for (const prefer of ['tmpfs', 'fsize'] as const) for (const writer of ['off', 'on']) {
  test(`the disk fills mid-run (${prefer === 'tmpfs' ? 'a 1 MiB tmpfs where mounting is allowed, else a file-size limit' : 'a 1 MiB file-size limit: EFBIG'}; writer thread ${writer}): exit 11 naming the file; with room, the same command resumes`, async (t) => {
    const dir = tempDir();
    const space = limitedSpace(dir, MiB, prefer);
    t.after(() => space.dispose());
    const n = 20_000; // about 2.4 MB of output: the room runs out part way
    const input = writeJsonl(path.join(dir, 'in.jsonl'), n, (i) => ({ n: i, pad: 'x'.repeat(100) }));
    const out = path.join(space.dir, 'out.jsonl');
    const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: cpu\n    batch: { max: 64 }\n`);
    const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'];

    // With the writer thread the failing write is the thread's; its error keeps its system code.
    const full = await space.run(args, { GPUPOOL_WRITER_THREAD: writer });
    assertStoppedForRoom(full, space, /(out\.jsonl|journal\.sqlite)/);
    const status = await runCli(['status', out, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.ok((JSON.parse(status.stdout) as { counts: { done: number } }).counts.done > 0, 'what was committed before the disk filled is kept');
    await assertResumes(space, args, out, n);
  });
}

test('the journal is the first file out of room (state dir on the small disk): exit 11 naming journal.sqlite; resumes with room', async (t) => {
  const dir = tempDir();
  const space = limitedSpace(dir, 256 * 1024);
  t.after(() => space.dispose());
  // Small groups (a slow worker, about 8 s of work): each commit adds pages to the journal's
  // WAL, so it passes 256 KiB long before the end, while the output, on another disk (and
  // under the file-size limit too), grows by a few lines per commit.
  const n = 8000;
  const input = writeJsonl(path.join(dir, 'in.jsonl'), n, (i) => ({ n: i, sleep_ms: 1 }));
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    batch: { max: 4 }\n`);
  const args = ['run', '-c', config, '-i', input, '-o', out, '--state-dir', space.dir, '--progress', 'none'];
  const full = await space.run(args);
  assertStoppedForRoom(full, space, /journal\.sqlite/);
  await assertResumes(space, args, out, n);
});

test('worker output that fills the disk through its log does not crash the run; it resumes with room', async (t) => {
  const dir = tempDir();
  const space = limitedSpace(dir, MiB);
  t.after(() => space.dispose());
  const n = 3000;
  // Each item prints 4 KiB, which gpupool copies into the worker's log in the state dir.
  const input = writeJsonl(path.join(dir, 'in.jsonl'), n, (i) => ({ echo: { n: i }, print: 'w'.repeat(4096) }));
  const out = path.join(space.dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('scripted_worker.py')}\n    devices: cpu\n    batch: { max: 16 }\n`);
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'];
  const first = await space.run(args);
  if (space.kind === 'tmpfs') {
    // The log fills the disk; the next write of the output or the journal stops the run.
    assertStoppedForRoom(first, space, /(out\.jsonl|journal\.sqlite)/);
    // The log may fill the disk before the first group commit (the worker prints fast): then
    // there is nothing to resume from, and what counts is a clean stop and a full second run.
    await assertResumes(space, args, out, n, false);
  } else {
    // Only the log passes the file-size limit: it stops growing and the run goes on.
    assert.equal(first.code, 0, first.stderr);
    assert.equal(readOutput(out).length, n);
  }
});
