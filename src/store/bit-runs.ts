/**
 * Calls `fn(start, end)` for each maximal run of set bits in `words[0, wordCount)`, where bit
 * `b` of word `w` stands for seq `baseSeq + w * 32 + b`; stops early when `fn` returns false.
 * Whole words of 0s or 1s are skipped in one step, and a mixed word costs one step per run
 * edge, not per bit: this runs on every commit.
 */
export function forEachRun(
  words: Uint32Array,
  wordCount: number,
  baseSeq: number,
  fn: (start: number, end: number) => boolean | void,
): boolean {
  let inRun = false;
  let runStart = 0;
  for (let w = 0; w < wordCount; w++) {
    const x = words[w];
    if (x === 0) {
      if (inRun) {
        inRun = false;
        if (fn(runStart, baseSeq + w * 32) === false) return false;
      }
      continue;
    }
    if (x === 0xffff_ffff) {
      if (!inRun) {
        inRun = true;
        runStart = baseSeq + w * 32;
      }
      continue;
    }
    const wordStart = baseSeq + w * 32;
    let bit = 0;
    while (bit < 32) {
      if (inRun) {
        const zeros = ~x & (-1 << bit);
        if (zeros === 0) break;
        bit = ctz32(zeros);
        inRun = false;
        if (fn(runStart, wordStart + bit) === false) return false;
      } else {
        const ones = x & (-1 << bit);
        if (ones === 0) break;
        bit = ctz32(ones);
        inRun = true;
        runStart = wordStart + bit;
      }
    }
  }
  if (inRun) return fn(runStart, baseSeq + wordCount * 32) !== false;
  return true;
}

/** Index of the lowest set bit of a non-zero 32-bit value. */
export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x5555_5555);
  x = (x & 0x3333_3333) + ((x >>> 2) & 0x3333_3333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f_0f0f, 0x0101_0101) >>> 24;
}
