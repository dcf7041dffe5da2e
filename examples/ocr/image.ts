// Image decoding for the OCR example: PNG (pngjs) and JPEG (jpeg-js), both pure JavaScript, so
// nothing native beyond onnxruntime has to install.
import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';

/** 8-bit RGB pixels, row-major, 3 bytes per pixel, alpha already composited over white. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A file that is not an image we can read: the item is bad, the worker is fine. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

/** Refuse absurd sizes before allocating: 100 megapixels is far beyond any page scan. */
const MAX_PIXELS = 100_000_000;

export async function readImage(path: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ImageDecodeError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return decodeImage(bytes, path);
}

export function decodeImage(bytes: Uint8Array, name = 'image'): RgbImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47) return decodePng(buf, name);
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return decodeJpeg(buf, name);
  throw new ImageDecodeError(`${name}: not a PNG or JPEG file`);
}

function decodePng(buf: Buffer, name: string): RgbImage {
  // Check the size from the IHDR chunk first (bytes 16..24) so a hostile header cannot make us allocate.
  if (buf.length >= 24) checkSize(buf.readUInt32BE(16), buf.readUInt32BE(20), name);
  let png: PNG;
  try {
    png = PNG.sync.read(buf); // always RGBA 8-bit, whatever the file's colour type and depth
  } catch (e) {
    throw new ImageDecodeError(`${name}: bad PNG: ${(e as Error).message}`);
  }
  return rgbaToRgb(png.data, png.width, png.height);
}

function decodeJpeg(buf: Buffer, name: string): RgbImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 2048 });
  } catch (e) {
    throw new ImageDecodeError(`${name}: bad JPEG: ${(e as Error).message}`);
  }
  checkSize(img.width, img.height, name);
  return rgbaToRgb(img.data, img.width, img.height);
}

function checkSize(width: number, height: number, name: string): void {
  if (width < 1 || height < 1) throw new ImageDecodeError(`${name}: empty image (${width}x${height})`);
  if (width * height > MAX_PIXELS) {
    throw new ImageDecodeError(`${name}: ${width}x${height} is over ${MAX_PIXELS / 1e6} megapixels`);
  }
}

function rgbaToRgb(rgba: Uint8Array, width: number, height: number): RgbImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3];
    if (a === 255) {
      out[i * 3] = rgba[i * 4];
      out[i * 3 + 1] = rgba[i * 4 + 1];
      out[i * 3 + 2] = rgba[i * 4 + 2];
    } else {
      // composite over white: transparent scans are paper, not black
      const k = 255 - a;
      out[i * 3] = (rgba[i * 4] * a + 255 * k + 127) / 255;
      out[i * 3 + 1] = (rgba[i * 4 + 1] * a + 255 * k + 127) / 255;
      out[i * 3 + 2] = (rgba[i * 4 + 2] * a + 255 * k + 127) / 255;
    }
  }
  return { width, height, data: out };
}
