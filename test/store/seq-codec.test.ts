import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeSeqsInto, encodeSeqSet, encodeSeqs, SeqCodecError } from '../../src/store/seq-codec.js';
import { SeqSet } from '../../src/store/index.js';

function decode(blob: Buffer): number[] {
  const s = new SeqSet();
  decodeSeqsInto(blob, s);
  return [...s];
}

describe('seq codec', () => {
  test('a contiguous group of 4,096 costs a few bytes', () => {
    const seqs = Uint32Array.from({ length: 4096 }, (_, i) => 1_000_000 + i);
    const blob = encodeSeqs(seqs);
    assert.ok(blob.length <= 8, `${blob.length} bytes`);
    assert.deepEqual(decode(blob), [...seqs]);
  });

  test('any order, with repeats, decodes to the same set', () => {
    const seqs = [9, 3, 4, 5, 70, 3, 71, 1000, 6];
    assert.deepEqual(decode(encodeSeqs(seqs)), [3, 4, 5, 6, 9, 70, 71, 1000]);
  });

  test('scattered seqs fall back to a bitmap no bigger than the span', () => {
    const seqs = Uint32Array.from({ length: 2048 }, (_, i) => 5000 + (i * 2 * 997) % 4096);
    const blob = encodeSeqs(seqs);
    assert.ok(blob.length <= 6 + 4096 / 8 + 4, `${blob.length} bytes`);
    assert.deepEqual(decode(blob), [...seqs].sort((a, b) => a - b));
  });

  test('seqs spread far apart are sorted and stored as runs', () => {
    const seqs = [4_000_000_000, 7, 123_456_789, 8, 9];
    const blob = encodeSeqs(seqs);
    assert.ok(blob.length < 20, `${blob.length} bytes`);
    assert.deepEqual(decode(blob), [7, 8, 9, 123_456_789, 4_000_000_000]);
  });

  test('a whole set round-trips, runs or bitmap, whichever is smaller', () => {
    let seed = 1;
    const rand = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (const density of [0.001, 0.5, 0.999]) {
      const s = new SeqSet();
      for (let i = 0; i < 200_000; i++) if (rand() < density) s.add(i);
      const blob = encodeSeqSet(s);
      assert.ok(blob.length <= 6 + 200_000 / 8 + 4, `density ${density}: ${blob.length} bytes`);
      const back = new SeqSet();
      assert.equal(decodeSeqsInto(blob, back), s.size);
      assert.deepEqual(back.toBuffer(), s.toBuffer());
    }
    assert.deepEqual(decode(encodeSeqSet(new SeqSet())), []);
    assert.deepEqual(decode(encodeSeqs([])), []);
  });

  test('runs that grow the writer to exactly the bitmap\'s size stay runs; one byte more falls back to the bitmap', () => {
    // m single seqs 0, 2, …, then one run of r from 2m: the runs take 1 + 2m + 3 bytes, and the
    // bitmap of the span 6 + 4·words; with m = 63, r = 835 both are 130 bytes.
    const build = (m: number, r: number): number[] => [...Array.from({ length: m }, (_, i) => 2 * i), ...Array.from({ length: r }, (_, i) => 2 * m + i)];
    for (const [m, r, kind, bytes] of [[63, 835, 'runs', 130], [64, 831, 'bitmap', 122]] as const) {
      const seqs = build(m, r);
      const set = new SeqSet();
      for (const q of seqs) set.add(q);
      for (const blob of [encodeSeqSet(set), encodeSeqs(seqs)]) {
        assert.equal(blob.length, bytes, `${kind}: ${blob.length} bytes`);
        assert.equal(blob[0] === 0x01 ? 'runs' : 'bitmap', kind); // the first byte says which (seq-codec.ts)
        assert.deepEqual(decode(blob), seqs);
      }
    }
  });

  test('malformed blobs are SeqCodecError, never a partial silent read', () => {
    const bad = [
      [], // no kind
      [0x07], // unknown kind
      [0x01, 0x80], // varint cut short
      [0x01, 0x05], // a run without its length
      [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // varint of 6 bytes
      [0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x05], // past the largest seq
      [0x02, 0x00, 0x01], // bitmap of part of a word
    ];
    for (const bytes of bad) {
      assert.throws(() => decode(Buffer.from(bytes)), SeqCodecError, JSON.stringify(bytes));
    }
  });
});
