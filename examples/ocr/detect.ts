// Text detection: PP-OCRv4 DB (differentiable binarisation) model, with PaddleOCR's
// DetResizeForTest / NormalizeImage pre-processing and DBPostProcess post-processing.
import type { RgbImage } from './image.js';
import { dist, minAreaRect, orderQuad, rectCorners, type Point, type Quad } from './geometry.js';

export interface DetectOptions {
  /** longest side the page is scaled down to before detection (PaddleOCR: det_limit_side_len) */
  limitSideLen: number;
  /** probability above which a pixel is text (det_db_thresh) */
  thresh: number;
  /** mean probability a box must reach to be kept (det_db_box_thresh) */
  boxThresh: number;
  /**
   * how far a box is grown around its shrunk kernel (det_db_unclip_ratio). PaddleOCR's default,
   * 1.5, cuts boxes tight to the ink, and the recogniser then drops spaces and trailing full
   * stops: 95.2% character accuracy on the sample pages. 2.0 (OpenCV's usual value) reaches 99.6%
   * on the PNGs but falls to 96.5% on the same pages as JPEG (quality 80) and 98.4% at 0.8 scale;
   * 2.6-3.0 holds 99.7% on all of PNG, JPEG, 0.8x and 1.6x, at 1.2x line spacing too. 2.8 is
   * the middle of that plateau (and taller crops make narrower recogniser inputs: faster).
   */
  unclipRatio: number;
  /** most boxes kept per page */
  maxCandidates: number;
}

export const DEFAULT_DETECT: DetectOptions = {
  limitSideLen: 960,
  thresh: 0.3,
  boxThresh: 0.6,
  unclipRatio: 2.8,
  maxCandidates: 1000,
};

export interface DetInput {
  data: Float32Array; // [1, 3, h, w], BGR, ImageNet-normalised
  width: number;
  height: number;
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Resize so the longest side is at most limitSideLen, both sides multiples of 32; normalise to CHW (BGR). */
export function detPreprocess(img: RgbImage, limitSideLen: number): DetInput {
  const ratio = Math.max(img.width, img.height) > limitSideLen ? limitSideLen / Math.max(img.width, img.height) : 1;
  const width = Math.max(32, Math.round((img.width * ratio) / 32) * 32);
  const height = Math.max(32, Math.round((img.height * ratio) / 32) * 32);
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  const sx = img.width / width;
  const sy = img.height / height;
  const src = img.data;
  const W = img.width;
  // bilinear, half-pixel centres (as cv2.INTER_LINEAR)
  for (let y = 0; y < height; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    let y0 = Math.floor(fy);
    if (y0 > img.height - 1) y0 = img.height - 1;
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = Math.min(fy - y0, 1);
    for (let x = 0; x < width; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      let x0 = Math.floor(fx);
      if (x0 > W - 1) x0 = W - 1;
      const x1 = Math.min(x0 + 1, W - 1);
      const wx = Math.min(fx - x0, 1);
      const i00 = (y0 * W + x0) * 3, i01 = (y0 * W + x1) * 3, i10 = (y1 * W + x0) * 3, i11 = (y1 * W + x1) * 3;
      const o = y * width + x;
      for (let c = 0; c < 3; c++) {
        const top = src[i00 + c] + (src[i01 + c] - src[i00 + c]) * wx;
        const bot = src[i10 + c] + (src[i11 + c] - src[i10 + c]) * wx;
        const v = top + (bot - top) * wy;
        const ch = 2 - c; // RGB -> BGR: PaddleOCR feeds OpenCV's BGR order to the network
        data[ch * plane + o] = (v / 255 - MEAN[ch]) / STD[ch];
      }
    }
  }
  return { data, width, height };
}

export interface TextBox {
  quad: Quad; // in original image pixels
  score: number;
}

/**
 * DB post-processing: binarise the probability map, take each 8-connected region, fit its
 * minimum-area rectangle, score it by the mean probability of its pixels, grow it by
 * area * unclipRatio / perimeter on every side, and scale it back to the original image.
 */
export function detPostprocess(
  prob: Float32Array,
  mapW: number,
  mapH: number,
  origW: number,
  origH: number,
  opts: DetectOptions,
): TextBox[] {
  const n = mapW * mapH;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const boxes: TextBox[] = [];
  const scaleX = origW / mapW;
  const scaleY = origH / mapH;
  for (let start = 0; start < n; start++) {
    if (seen[start] || !(prob[start] > opts.thresh)) continue;
    // flood fill one region, keeping each row's leftmost/rightmost pixel (enough for the hull)
    let sp = 0;
    stack[sp++] = start;
    seen[start] = 1;
    let sum = 0;
    let count = 0;
    const rowMin = new Map<number, number>();
    const rowMax = new Map<number, number>();
    while (sp > 0) {
      const i = stack[--sp];
      sum += prob[i];
      count++;
      const x = i % mapW;
      const y = (i - x) / mapW;
      const lo = rowMin.get(y);
      if (lo === undefined || x < lo) rowMin.set(y, x);
      const hi = rowMax.get(y);
      if (hi === undefined || x > hi) rowMax.set(y, x);
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= mapH) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= mapW || (dx === 0 && dy === 0)) continue;
          const j = yy * mapW + xx;
          if (!seen[j] && prob[j] > opts.thresh) {
            seen[j] = 1;
            stack[sp++] = j;
          }
        }
      }
    }
    if (count < 4) continue;
    const pts: Point[] = [];
    for (const [y, lo] of rowMin) {
      pts.push([lo, y]);
      const hi = rowMax.get(y)!;
      if (hi !== lo) pts.push([hi, y]);
    }
    const rect = minAreaRect(pts);
    if (Math.min(rect.w, rect.h) < 3) continue; // min_size
    const score = sum / count;
    if (score < opts.boxThresh) continue;
    // unclip: offsetting a rectangle by d (round joins) and taking the min-area rect again
    // gives the same rectangle grown by d on every side
    const area = rect.w * rect.h;
    const perimeter = 2 * (rect.w + rect.h);
    const d = (area * opts.unclipRatio) / perimeter;
    const grown = { ...rect, w: rect.w + 2 * d, h: rect.h + 2 * d };
    if (Math.min(grown.w, grown.h) < 5) continue; // min_size + 2
    const corners = rectCorners(grown).map(
      ([x, y]): Point => [
        Math.min(Math.max(Math.round(x * scaleX), 0), origW),
        Math.min(Math.max(Math.round(y * scaleY), 0), origH),
      ],
    );
    const quad = orderQuad(corners);
    if (dist(quad[0], quad[1]) <= 3 || dist(quad[0], quad[3]) <= 3) continue;
    boxes.push({ quad, score });
    if (boxes.length >= opts.maxCandidates) break;
  }
  return boxes;
}
