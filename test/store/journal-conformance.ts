/**
 * What every JobStore (JobJournal) backend must do, written against the interface only: the
 * SQLite backend runs it in `sqlite-journal.test.ts`, the Redis backend in `redis-journal.test.ts`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isGpupoolError, type ErrorCode } from '../../src/errors/index.js';
import type { JobIdentity, JobJournal } from '../../src/store/index.js';
import { identity } from './helpers.js';

export interface JournalFactory {
  readonly name: string;
  /** A new, empty place for journals (a temp dir, a Redis key prefix); disposed when `t` ends. */
  place(t: { after(fn: () => void): void }): string;
  /** Opens the journal at `place`; the same place means the same journal. */
  open(place: string, identity: JobIdentity, options?: { fresh?: boolean }): Promise<JobJournal>;
}

export async function rejectsWith(fn: () => unknown, code: ErrorCode): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    assert.ok(isGpupoolError(err), `expected a GpupoolError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

export function journalConformance(factory: JournalFactory): void {
  describe(`JobJournal conformance: ${factory.name}`, () => {
    test('a new journal resumes with nothing done', async (t) => {
      const j = await factory.open(factory.place(t), identity());
      const r = await j.resume();
      assert.equal(r.done.size, 0);
      assert.equal(r.failed.size, 0);
      assert.equal(r.outputBytes, 0);
      assert.deepEqual(r.counts, { done: 0, failed: 0 });
      await j.close();
    });

    test('commits survive a reopen: done, failed with their errors, output bytes', async (t) => {
      const place = factory.place(t);
      const j = await factory.open(place, identity());
      await j.commit({ done: [3, 1, 2, 0], failed: [{ seq: 5, code: 'E_ITEM', message: 'bad input', id: 'k5' }], outputBytes: 40 });
      await j.commit({ done: new Uint32Array([4, 6]), outputBytes: 60 });
      await j.close();

      const again = await factory.open(place, identity());
      const r = await again.resume();
      assert.deepEqual([...r.done], [0, 1, 2, 3, 4, 6]);
      assert.deepEqual([...r.failed], [5]);
      assert.equal(r.outputBytes, 60);
      assert.deepEqual(r.counts, { done: 6, failed: 1 });
      const s = await again.status();
      assert.deepEqual(
        s.failures.map(({ seq, code, message, id }) => ({ seq, code, message, id })),
        [{ seq: 5, code: 'E_ITEM', message: 'bad input', id: 'k5' }],
      );
      await again.close();
    });

    test('a seq done twice counts once; done clears an earlier failure; a late failure of a done seq is ignored', async (t) => {
      const j = await factory.open(factory.place(t), identity());
      await j.commit({ done: [1, 1, 2], failed: [{ seq: 7, code: 'E', message: 'm', id: 7 }], outputBytes: 10 });
      await j.commit({ done: [2, 7], failed: [{ seq: 1, code: 'E', message: 'late', id: 1 }], outputBytes: 20 });
      const r = await j.resume();
      assert.deepEqual([...r.done], [1, 2, 7]);
      assert.equal(r.failed.size, 0);
      assert.deepEqual((await j.status()).counts, { done: 3, failed: 0, total: null });
      await j.close();
    });

    test('resume hands out copies: changing them does not change the journal', async (t) => {
      const j = await factory.open(factory.place(t), identity());
      await j.commit({ done: [0], outputBytes: 1 });
      (await j.resume()).done.add(9);
      assert.deepEqual([...(await j.resume()).done], [0]);
      await j.close();
    });

    test('retryFailed forgets failures, for good', async (t) => {
      const place = factory.place(t);
      const j = await factory.open(place, identity());
      await j.commit({ done: [0], failed: [1, 2].map((seq) => ({ seq, code: 'E', message: 'x', id: seq })), outputBytes: 5 });
      await j.markFinished(3);
      await j.retryFailed();
      assert.equal((await j.resume()).failed.size, 0);
      assert.equal((await j.status()).finished, false, 'items to retry: not finished any more');
      await j.close();
      const again = await factory.open(place, identity());
      const r = await again.resume();
      assert.equal(r.failed.size, 0);
      assert.deepEqual([...r.done], [0]);
      await again.close();
    });

    test('learned limits persist across reopen, per model and device', async (t) => {
      const place = factory.place(t);
      const j = await factory.open(place, identity());
      await j.saveLearnedLimit('bert', 'GPU-aaa', 64);
      await j.saveLearnedLimit('bert', 'GPU-bbb', 32);
      await j.saveLearnedLimit('bert', 'GPU-aaa', 48);
      await j.saveLearnedLimit('clip', 'GPU-aaa', 8);
      await j.close();
      const again = await factory.open(place, identity());
      const bert = await again.learnedLimits('bert');
      assert.deepEqual(Object.fromEntries(Object.entries(bert).map(([k, v]) => [k, v.limit])), { 'GPU-aaa': 48, 'GPU-bbb': 32 });
      assert.ok(bert['GPU-aaa'].updatedAt > 0);
      assert.deepEqual(await again.learnedLimits('none'), {});
      assert.equal((await again.status()).learnedLimits.clip['GPU-aaa'].limit, 8);
      await again.close();
    });

    test('a shard run under the other --shard-by rule is refused, saying why', async (t) => {
      const place = factory.place(t);
      await (await factory.open(place, identity('fp-pos', { input: 'pages', shard: '0/2' }))).close();
      const err = await rejectsWith(() => factory.open(place, identity('fp-name', { input: 'pages', shard: '0/2 by file name' })), 'GPUPOOL_E_JOURNAL_MISMATCH');
      assert.match(err.message, /\n {2}why: the journal's run gave this shard its inputs by position, this run by name: they are other inputs; run with --shard-by position as it did, or again with --fresh\n/);
      // Also when the folder changed as well (by name, a shard's listing is its own files).
      const both = await rejectsWith(() => factory.open(place, identity('fp-both', { input: 'pages', shard: '0/2 by file name', inputState: 'other' })), 'GPUPOOL_E_JOURNAL_MISMATCH');
      assert.match(both.message, /\n {2}why: the journal's run gave this shard its inputs by position, this run by name/);
      // Another shard is another job: no such line.
      const other = await rejectsWith(() => factory.open(place, identity('fp-other', { input: 'pages', shard: '1/2' })), 'GPUPOOL_E_JOURNAL_MISMATCH');
      assert.doesNotMatch(other.message, /why:/);
    });

    test('another job is refused with both descriptions and the --fresh remedy', async (t) => {
      const place = factory.place(t);
      const j = await factory.open(place, identity('fp-a', { model: 'bert', input: 'a.jsonl' }));
      await j.close();
      const err = await rejectsWith(() => factory.open(place, identity('fp-b', { model: 'clip', input: 'a.jsonl' })), 'GPUPOOL_E_JOURNAL_MISMATCH');
      assert.match(err.message, /"model":"bert"/);
      assert.match(err.message, /"model":"clip"/);
      assert.match(err.message, /differs in: model\n/);
      assert.match(err.message, /--fresh/);
      // With the keys the fingerprint is made of given, only those are named (not the config's path).
      const compared = { ...identity('fp-c', { model: 'clip', input: 'b.jsonl', config: 'elsewhere.yaml' }), compared: ['model', 'input'] };
      const named = await rejectsWith(() => factory.open(place, compared), 'GPUPOOL_E_JOURNAL_MISMATCH');
      assert.match(named.message, /differs in: model, input\n/);
      // The refused run changed nothing: the journal still opens for its own job.
      const own = await factory.open(place, identity('fp-a', { model: 'bert', input: 'a.jsonl' }));
      await own.close();
      // A fingerprint the job had under an earlier gpupool is its own, and is replaced by the new one.
      const renamed = await factory.open(place, { ...identity('fp-a2', { model: 'bert', input: 'a.jsonl' }), formerFingerprints: ['fp-a'] });
      await renamed.close();
      await rejectsWith(() => factory.open(place, identity('fp-a', { model: 'bert', input: 'a.jsonl' })), 'GPUPOOL_E_JOURNAL_MISMATCH');
      const finished = await factory.open(place, identity('fp-a2', { model: 'bert', input: 'a.jsonl' }));
      await finished.markFinished(5);
      await finished.setMeta('inputDigest', { sha256: 'abc' });
      await finished.close();
      // A job whose input grew since: asked with the stored fingerprint, description and meta, it
      // says whether it continues them, or why not (a line of the refusal when only the state differs).
      const asked: unknown[] = [];
      const grown = (answer: boolean | string) => ({
        ...identity('fp-a3', { model: 'bert', input: 'a.jsonl', inputState: 'grown' }),
        continues: (fp: string, description: Record<string, unknown>, meta: Record<string, unknown>) => (asked.push([fp, description, meta]), answer),
      });
      await rejectsWith(() => factory.open(place, grown(false)), 'GPUPOOL_E_JOURNAL_MISMATCH');
      assert.deepEqual(asked, [['fp-a2', { model: 'bert', input: 'a.jsonl' }, { inputDigest: { sha256: 'abc' } }]]);
      const why = await rejectsWith(() => factory.open(place, { ...grown('it shrank'), compared: ['inputState'] }), 'GPUPOOL_E_JOURNAL_MISMATCH');
      assert.match(why.message, /^the input changed since the journal in .* was made \(none: a pipe or a terminal, whose lines cannot be checked then, "grown" now\).*\n {2}why: it shrank\n/);
      const continued = await factory.open(place, grown(true));
      const status = await continued.status();
      assert.deepEqual([status.finished, status.counts.total], [false, null], 'new items came: not finished, total unknown');
      assert.deepEqual(status.description, { model: 'bert', input: 'a.jsonl', inputState: 'grown' });
      await continued.close();
      await (await factory.open(place, identity('fp-a3', { model: 'bert', input: 'a.jsonl', inputState: 'grown' }))).close();
    });

    test('fresh wipes everything and takes the new identity', async (t) => {
      const place = factory.place(t);
      const j = await factory.open(place, identity('fp-a'));
      await j.commit({ done: [0, 1], failed: [{ seq: 2, code: 'E', message: 'x', id: 2 }], outputBytes: 9 });
      await j.saveLearnedLimit('m', 'GPU-x', 4);
      await j.close();
      const f = await factory.open(place, identity('fp-b', { model: 'other' }), { fresh: true });
      const r = await f.resume();
      assert.deepEqual([r.done.size, r.failed.size, r.outputBytes], [0, 0, 0]);
      assert.deepEqual(await f.learnedLimits('m'), {});
      assert.deepEqual((await f.status()).description, { model: 'other' });
      await f.close();
    });

    test('status: counts, first failures by seq, meta, finished', async (t) => {
      const j = await factory.open(factory.place(t), identity('fp', { model: 'bert' }));
      const failed = Array.from({ length: 30 }, (_, i) => ({ seq: 100 - i, code: 'E_ITEM', message: `bad ${100 - i}`, id: 100 - i }));
      await j.commit({ done: [0, 1, 2], failed, outputBytes: 33 });
      await j.setMeta('inputItems', 103);
      let s = await j.status();
      assert.deepEqual(s.description, { model: 'bert' });
      assert.deepEqual(s.counts, { done: 3, failed: 30, total: null });
      assert.equal(s.failures.length, 20);
      assert.deepEqual(s.failures.slice(0, 2).map((f) => f.seq), [71, 72]);
      assert.equal(s.failures[0].message, 'bad 71');
      assert.deepEqual(s.meta, { inputItems: 103 });
      assert.equal(s.outputBytes, 33);
      assert.equal(s.finished, false);
      assert.ok(s.startedAt > 0 && s.updatedAt >= s.startedAt);
      assert.equal((await j.status({ failureLimit: 5 })).failures.length, 5);
      await j.markFinished(103);
      s = await j.status();
      assert.equal(s.finished, true);
      assert.equal(s.counts.total, 103);
      await j.close();
    });

    test('thousands of commits, out of order, read back exactly', async (t) => {
      const place = factory.place(t);
      const j = await factory.open(place, identity());
      const expected = new Set<number>();
      let seed = 7;
      const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let c = 0; c < 600; c++) {
        const group: number[] = [];
        for (let k = 0; k < 50; k++) {
          // Mostly near the front, some far ahead, a few repeats.
          const s = rand() < 0.9 ? c * 40 + Math.floor(rand() * 80) : Math.floor(rand() * 1e6);
          group.push(s);
          expected.add(s);
        }
        await j.commit({ done: group, outputBytes: c });
      }
      await j.close();
      const again = await factory.open(place, identity());
      const r = await again.resume();
      assert.equal(r.done.size, expected.size);
      assert.deepEqual([...r.done], [...expected].sort((a, b) => a - b));
      assert.equal(r.outputBytes, 599);
      await again.close();
    });

    test('bad arguments are refused before anything is written', async (t) => {
      const j = await factory.open(factory.place(t), identity());
      await rejectsWith(() => j.commit({ done: [-1], outputBytes: 0 }), 'GPUPOOL_E_INTERNAL');
      await rejectsWith(() => j.commit({ done: [1.5], outputBytes: 0 }), 'GPUPOOL_E_INTERNAL');
      await rejectsWith(() => j.commit({ done: [1], outputBytes: -3 }), 'GPUPOOL_E_INTERNAL');
      await rejectsWith(() => j.saveLearnedLimit('m', 'd', 0), 'GPUPOOL_E_INTERNAL');
      assert.equal((await j.resume()).done.size, 0);
      await j.close();
    });
  });
}
