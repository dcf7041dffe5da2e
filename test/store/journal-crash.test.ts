import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { openJournal, readJournalStatus } from '../../src/store/index.js';
import { exited, killHard, spawnFixture, tempDir, waitForLine } from './helpers.js';

const TOTAL = 400_000;
const GROUP = 251;

test('kill -9 in a tight commit loop, again and again: every group all-or-nothing, every item in the output exactly once', async (t) => {
  const dir = tempDir(t);
  const stateDir = path.join(dir, 'state');
  const output = path.join(dir, 'out.jsonl');
  const args = [stateDir, output, String(TOTAL), String(GROUP)];

  let killsMidRun = 0;
  let tailsCut = 0;
  for (let round = 0; round < 6; round++) {
    const child = spawnFixture('commit-loop.ts', args);
    await waitForLine(child, 'ready');
    await sleep(40 + Math.floor(Math.random() * 150));
    if (child.exitCode === null) killsMidRun++;
    await killHard(child);

    // Between runs the journal is always consistent with itself (open checks counts and blobs)…
    const s = readJournalStatus(stateDir)!;
    assert.equal(s.running, null);
    assert.ok(s.counts.done + s.counts.failed <= TOTAL);
    // …and never ahead of the output: committed bytes are all there.
    const size = fs.statSync(output).size;
    assert.ok(size >= s.outputBytes, 'the output holds every committed byte');
    if (size > s.outputBytes) tailsCut++;
  }
  t.diagnostic(`${killsMidRun} kills mid-run, ${tailsCut} left lines written but not committed`);
  assert.ok(killsMidRun >= 3, `only ${killsMidRun} kills landed mid-run: make the loop longer`);

  const last = spawnFixture('commit-loop.ts', args);
  await Promise.all([waitForLine(last, 'finished'), exited(last)]);

  const seen = new Uint8Array(TOTAL);
  for (const line of fs.readFileSync(output, 'utf8').split('\n')) {
    if (line === '') continue;
    const { seq } = JSON.parse(line) as { seq: number };
    seen[seq]++;
  }
  const wrong: string[] = [];
  for (let s = 0; s < TOTAL && wrong.length < 10; s++) {
    const want = s % 97 === 0 ? 0 : 1;
    if (seen[s] !== want) wrong.push(`seq ${s} seen ${seen[s]}×, want ${want}×`);
  }
  assert.deepEqual(wrong, []);

  const j = openJournal({ stateDir, identity: { fingerprint: 'loop', description: {} } });
  const r = j.resume();
  const failedCount = Math.ceil(TOTAL / 97);
  assert.deepEqual(r.counts, { done: TOTAL - failedCount, failed: failedCount });
  assert.equal(r.outputBytes, fs.statSync(output).size);
  for (const seq of r.failed) assert.equal(seq % 97, 0);
  const s = j.status();
  assert.equal(s.finished, true);
  assert.equal(s.failures[0].message, 'item 0 failed');
  j.close();
});
