// Text recognition: PP-OCRv4 SVTR-LCNet CTC model. Each detected box is cut out of the page
// (rotated boxes straightened), scaled to 48 px high, normalised to [-1, 1] and padded to the
// widest crop of its batch, as PaddleOCR's TextRecognizer does; the output is decoded greedily.
import type { RgbImage } from './image.js';
import { dist, type Point, type Quad } from './geometry.js';

export const REC_HEIGHT = 48;
/** PaddleOCR's rec_image_shape 3,48,320: crops are padded to at least 320 px wide. */
export const REC_MIN_WIDTH = 320;
/** widest crop fed to the model (a 48 px high line 3200 px wide is about 130 characters) */
export const REC_MAX_WIDTH = 3200;

export interface RecCrop {
  /** BGR, CHW, normalised, REC_HEIGHT x width */
  data: Float32Array;
  width: number;
}

/**
 * Cut the quad out of the image and scale it to REC_HEIGHT in one resampling step (bilinear,
 * with k x k supersampling when shrinking). A box more than 1.5 times as tall as wide is read
 * as vertical text and turned 90° counter-clockwise, as PaddleOCR does.
 */
export function cropForRecognition(img: RgbImage, quadIn: Quad): RecCrop {
  let quad = quadIn;
  let cropW = Math.max(dist(quad[0], quad[1]), dist(quad[2], quad[3]));
  let cropH = Math.max(dist(quad[0], quad[3]), dist(quad[1], quad[2]));
  if (cropH / Math.max(cropW, 1) >= 1.5) {
    quad = [quad[1], quad[2], quad[3], quad[0]];
    [cropW, cropH] = [cropH, cropW];
  }
  cropW = Math.max(1, Math.floor(cropW));
  cropH = Math.max(1, Math.floor(cropH));
  const width = Math.min(REC_MAX_WIDTH, Math.max(1, Math.ceil((REC_HEIGHT * cropW) / cropH)));
  const plane = REC_HEIGHT * width;
  const data = new Float32Array(3 * plane);
  const [p0, p1, p2, p3] = quad;
  const k = Math.max(1, Math.min(4, Math.ceil(Math.max(cropH / REC_HEIGHT, cropW / width))));
  const { width: W, height: H, data: src } = img;
  const acc = [0, 0, 0];
  for (let y = 0; y < REC_HEIGHT; y++) {
    for (let x = 0; x < width; x++) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let sy = 0; sy < k; sy++) {
        // position inside the crop, in crop pixels (pixel centres at integers), then as a fraction
        const cy = ((y + (sy + 0.5) / k) * cropH) / REC_HEIGHT - 0.5;
        const v = Math.min(Math.max(cy / cropH, 0), 1);
        for (let sx = 0; sx < k; sx++) {
          const cx = ((x + (sx + 0.5) / k) * cropW) / width - 0.5;
          const u = Math.min(Math.max(cx / cropW, 0), 1);
          // bilinear interpolation of the quad's corners gives the source point
          const px = (1 - u) * (1 - v) * p0[0] + u * (1 - v) * p1[0] + u * v * p2[0] + (1 - u) * v * p3[0];
          const py = (1 - u) * (1 - v) * p0[1] + u * (1 - v) * p1[1] + u * v * p2[1] + (1 - u) * v * p3[1];
          sampleBilinear(src, W, H, px, py, acc);
        }
      }
      const o = y * width + x;
      const kk = k * k;
      for (let c = 0; c < 3; c++) {
        const ch = 2 - c; // RGB -> BGR
        data[ch * plane + o] = acc[c] / kk / 127.5 - 1;
      }
    }
  }
  return { data, width };
}

function sampleBilinear(src: Uint8Array, W: number, H: number, x: number, y: number, acc: number[]): void {
  // clamp to the border (cv2.BORDER_REPLICATE)
  const fx = Math.min(Math.max(x, 0), W - 1);
  const fy = Math.min(Math.max(y, 0), H - 1);
  const x0 = Math.floor(fx), y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, H - 1);
  const wx = fx - x0, wy = fy - y0;
  const i00 = (y0 * W + x0) * 3, i01 = (y0 * W + x1) * 3, i10 = (y1 * W + x0) * 3, i11 = (y1 * W + x1) * 3;
  for (let c = 0; c < 3; c++) {
    const top = src[i00 + c] + (src[i01 + c] - src[i00 + c]) * wx;
    const bot = src[i10 + c] + (src[i11 + c] - src[i10 + c]) * wx;
    acc[c] += top + (bot - top) * wy;
  }
}

/** Stack crops into one [n, 3, 48, W] tensor, W = the widest crop (at least minWidth), zero-padded. */
export function batchCrops(crops: RecCrop[], minWidth = REC_MIN_WIDTH): { data: Float32Array; width: number } {
  const width = Math.max(minWidth, ...crops.map((c) => c.width));
  const plane = REC_HEIGHT * width;
  const data = new Float32Array(crops.length * 3 * plane); // zeros = mid-grey after normalisation
  crops.forEach((crop, i) => {
    for (let ch = 0; ch < 3; ch++) {
      for (let y = 0; y < REC_HEIGHT; y++) {
        const from = ch * REC_HEIGHT * crop.width + y * crop.width;
        data.set(crop.data.subarray(from, from + crop.width), i * 3 * plane + ch * plane + y * width);
      }
    }
  });
  return { data, width };
}

/** Greedy CTC decoding: best class per time step, merge repeats, drop blanks (class 0). */
export function ctcDecode(
  probs: Float32Array,
  batch: number,
  steps: number,
  classes: number,
  charset: string[],
): { text: string; score: number }[] {
  const out: { text: string; score: number }[] = [];
  for (let b = 0; b < batch; b++) {
    let text = '';
    let confSum = 0;
    let confN = 0;
    let prev = -1;
    for (let t = 0; t < steps; t++) {
      const base = (b * steps + t) * classes;
      let best = 0;
      let bestP = probs[base];
      for (let c = 1; c < classes; c++) {
        const p = probs[base + c];
        if (p > bestP) {
          bestP = p;
          best = c;
        }
      }
      if (best !== 0 && best !== prev) {
        text += charset[best] ?? '';
        confSum += bestP;
        confN++;
      }
      prev = best;
    }
    out.push({ text, score: confN ? confSum / confN : 0 });
  }
  return out;
}

/** The recogniser's classes: blank, then one per dictionary line, then the space. */
export function loadCharset(dictText: string): string[] {
  const lines = dictText.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return ['', ...lines, ' '];
}

export function quadCenter(q: Quad): Point {
  return [(q[0][0] + q[1][0] + q[2][0] + q[3][0]) / 4, (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4];
}
