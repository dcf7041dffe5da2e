import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_SEQ, SeqSet } from '../../src/store/index.js';

describe('SeqSet', () => {
  test('has / add / delete / size', () => {
    const s = new SeqSet();
    assert.equal(s.has(5), false);
    assert.equal(s.add(5), true);
    assert.equal(s.add(5), false);
    assert.equal(s.add(0), true);
    assert.equal(s.size, 2);
    assert.equal(s.has(5), true);
    assert.equal(s.has(-1), false);
    assert.equal(s.has(5.5), false);
    assert.equal(s.delete(5), true);
    assert.equal(s.delete(5), false);
    assert.deepEqual([...s], [0]);
    assert.throws(() => s.add(-1), RangeError);
    assert.throws(() => s.add(MAX_SEQ + 1), RangeError);
  });

  test('addRangeCollect adds a range and lists exactly the seqs that were absent, ascending, as add() one by one would', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let round = 0; round < 200; round++) {
      const a = new SeqSet();
      const b = new SeqSet();
      for (let k = rand(40); k > 0; k--) {
        const seq = rand(300);
        a.add(seq);
        b.add(seq);
      }
      const start = rand(260);
      const end = start + rand(100);
      const out = new Uint32Array(end - start + 3).fill(9);
      const at = a.addRangeCollect(start, end, out, 2);
      const expected: number[] = [];
      for (let seq = start; seq < end; seq++) if (b.add(seq)) expected.push(seq);
      assert.deepEqual([...out.subarray(2, at)], expected, `round ${round}: [${start}, ${end})`);
      assert.deepEqual([out[0], out[1]], [9, 9], 'nothing written before `at`');
      assert.equal(a.size, b.size);
      assert.deepEqual([...a.runs()], [...b.runs()]);
    }
    assert.throws(() => new SeqSet().addRangeCollect(MAX_SEQ, MAX_SEQ + 2, new Uint32Array(2), 0), RangeError);
  });

  test('addRange across word edges counts only new seqs', () => {
    const s = new SeqSet();
    s.add(40);
    assert.equal(s.addRange(30, 100), 69);
    assert.equal(s.addRange(0, 1), 1);
    assert.equal(s.addRange(64, 96), 0);
    assert.equal(s.size, 71);
    assert.deepEqual([...s.runs()], [[0, 1], [30, 100]]);
    assert.equal(s.nextAbsent(0), 1);
    assert.equal(s.nextAbsent(30), 100);
    assert.equal(s.nextPresent(1), 30);
    assert.equal(s.last(), 99);
  });

  test('10,000,000 seqs: ~1.25 MB, exact size, round trip through a Buffer', () => {
    const n = 10_000_000;
    const s = new SeqSet();
    for (let i = 0; i < n; i++) if (i % 1000 !== 999) s.add(i);
    assert.equal(s.size, n - n / 1000);
    assert.ok(s.byteLength <= 2 * 1_250_000, `bits take ${s.byteLength} bytes`);
    const buf = s.toBuffer();
    assert.equal(buf.length, 1_250_000);
    const back = SeqSet.fromBuffer(buf);
    assert.equal(back.size, s.size);
    assert.equal(back.has(998), true);
    assert.equal(back.has(999), false);
    assert.equal(back.has(n - 1), false);
    assert.equal(back.has(n - 2), true);
    assert.equal(back.nextAbsent(0), 999);
    const full = new SeqSet(n);
    assert.equal(full.addRange(0, n), n);
    assert.equal(full.byteLength, n / 8);
    assert.equal(full.nextAbsent(0), n);
  });

  test('clone is independent; clear empties', () => {
    const s = new SeqSet();
    s.addRange(0, 10);
    const c = s.clone();
    c.add(50);
    assert.equal(s.has(50), false);
    assert.equal(c.size, 11);
    s.clear();
    assert.equal(s.size, 0);
    assert.equal(s.toBuffer().length, 0);
  });

  test('toBuffer is little-endian bit order: seq s is bit s&7 of byte s>>3', () => {
    const s = new SeqSet();
    s.add(0);
    s.add(9);
    assert.deepEqual([...s.toBuffer()], [0x01, 0x02, 0x00, 0x00]);
    assert.deepEqual([...SeqSet.fromBuffer(Buffer.from([0x01, 0x02, 0x80]))], [0, 9, 23]);
  });
});
