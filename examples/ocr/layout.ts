// Reading order: group recognised boxes into visual rows (skew-aware), rows top to bottom,
// boxes left to right; a row's boxes are joined with one space, rows with a newline.
import type { Quad } from './geometry.js';

export interface OcrLine {
  text: string;
  /** [[x, y] × 4], clockwise from the top-left, in the page's pixels */
  box: Quad;
  score: number;
}

/** Returns the lines in reading order and the page text. */
export function readingOrder(lines: OcrLine[]): { text: string; lines: OcrLine[] } {
  if (lines.length === 0) return { text: '', lines: [] };
  // Dominant skew: the median angle of the boxes' top edges.
  const angles = lines
    .map((l) => Math.atan2(l.box[1][1] - l.box[0][1], l.box[1][0] - l.box[0][0]))
    .sort((a, b) => a - b);
  const angle = angles[Math.floor(angles.length / 2)];
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const items = lines.map((l) => {
    const cx = (l.box[0][0] + l.box[1][0] + l.box[2][0] + l.box[3][0]) / 4;
    const cy = (l.box[0][1] + l.box[1][1] + l.box[2][1] + l.box[3][1]) / 4;
    const h = (Math.hypot(l.box[3][0] - l.box[0][0], l.box[3][1] - l.box[0][1]) +
      Math.hypot(l.box[2][0] - l.box[1][0], l.box[2][1] - l.box[1][1])) / 2;
    // coordinates in the deskewed frame
    return { line: l, u: cx * cos + cy * sin, v: -cx * sin + cy * cos, h };
  });
  items.sort((a, b) => a.v - b.v);
  const rows: { v: number; h: number; items: typeof items }[] = [];
  for (const it of items) {
    const row = rows[rows.length - 1];
    // same row when the centres are closer than half the smaller height
    if (row && Math.abs(it.v - row.v) < Math.min(it.h, row.h) / 2) {
      row.items.push(it);
      row.v = row.items.reduce((s, x) => s + x.v, 0) / row.items.length;
      row.h = Math.max(row.h, it.h);
    } else {
      rows.push({ v: it.v, h: it.h, items: [it] });
    }
  }
  const ordered: OcrLine[] = [];
  const texts: string[] = [];
  for (const row of rows) {
    row.items.sort((a, b) => a.u - b.u);
    ordered.push(...row.items.map((x) => x.line));
    texts.push(row.items.map((x) => x.line.text.trim()).join(' '));
  }
  return { text: texts.join('\n'), lines: ordered };
}
