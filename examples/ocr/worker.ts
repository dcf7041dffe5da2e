// The gpupool worker for the OCR example.
//   input:  {"path": "/abs/page.png"}        (PNG or JPEG; a relative path is taken from the worker's cwd)
//   output: {"text": "...", "lines": [{"text": "...", "box": [[x, y] × 4], "score": 0.99}, ...]}
//
// setup(device) loads the two PP-OCRv4 models once: CPU, or the CUDA execution provider when the
// device is a CUDA card and onnxruntime-node has its CUDA provider (else CPU, with a warning).
// predict(batch) reads every page, detects text page by page, and recognises the boxes of the
// whole batch together. A page that cannot be read fails alone (ItemError); an onnxruntime
// failure fails the batch, classified as out-of-memory, fatal (the CUDA context is gone) or not.
//
// Environment: OCR_THREADS: onnxruntime intra-op threads per worker (default 1: gpupool runs a
// worker per core on CPU through workers_per_device).
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { serve, ItemError, OutOfMemoryError, FatalError, type DeviceInfo } from 'gpupool/worker';
import { cudaProviderInstalled, ImageDecodeError, OcrPipeline, ORT_VERSION, readImage, type RgbImage } from './ocr-pipeline.js';

let ocr: OcrPipeline | undefined;

serve({
  framework: `onnxruntime-node ${ORT_VERSION}`,

  // What this worker will run on, for gpupool's placement check: the assigned CUDA card when
  // onnxruntime can use it, else nothing (CPU), so that a GPU worker stuck on CPU shows up.
  describeDevices(device: DeviceInfo) {
    if (device.kind !== 'cuda' || !cudaProviderInstalled()) return [];
    return device.uuids.flatMap((uuid) => nvidiaSmi(uuid));
  },

  async setup(device: DeviceInfo) {
    const threads = Number(process.env.OCR_THREADS ?? '1');
    ocr = await OcrPipeline.create({
      device: device.kind === 'cuda' ? 'cuda' : 'cpu',
      deviceIndex: device.index,
      threads: Number.isInteger(threads) && threads > 0 ? threads : 1,
    });
    console.log(`ocr: models loaded, ${ocr.provider} execution provider`);
  },

  async predict(batch: unknown[]): Promise<unknown[]> {
    if (!ocr) throw new Error('predict before setup');
    const outputs: unknown[] = new Array(batch.length).fill(null);
    const images: RgbImage[] = [];
    const at: number[] = [];
    for (let i = 0; i < batch.length; i++) {
      const file = inputPath(batch[i]);
      if (file === undefined) {
        outputs[i] = new ItemError('expected an object {"path": "<image file>"}');
        continue;
      }
      try {
        images.push(await readImage(path.resolve(file)));
        at.push(i);
      } catch (e) {
        if (!(e instanceof ImageDecodeError)) throw e;
        outputs[i] = new ItemError(e.message);
      }
    }
    if (images.length > 0) {
      let pages;
      try {
        pages = await ocr.ocrImages(images);
      } catch (e) {
        throw classify(e);
      }
      pages.forEach((page, k) => (outputs[at[k]] = page));
    }
    return outputs;
  },

  async teardown() {
    await ocr?.release();
  },
});

function nvidiaSmi(uuid: string): { name: string; uuid: string; memory_total: number; memory_free: number }[] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,uuid,memory.total,memory.free', '--format=csv,noheader,nounits', '-i', uuid], { encoding: 'utf8', timeout: 10_000 });
    return out.trim().split('\n').filter(Boolean).map((line) => {
      const [name, id, total, free] = line.split(',').map((f) => f.trim());
      return { name, uuid: id, memory_total: Number(total) * 2 ** 20, memory_free: Number(free) * 2 ** 20 };
    });
  } catch {
    return [];
  }
}

function inputPath(item: unknown): string | undefined {
  if (item && typeof item === 'object' && typeof (item as { path?: unknown }).path === 'string') {
    const p = (item as { path: string }).path;
    return p.length > 0 ? p : undefined;
  }
  return undefined;
}

/**
 * onnxruntime reports every failure as a plain Error; its text is all there is to go on. (The
 * worker may read messages; gpupool itself never does.)
 */
export function classify(e: unknown): Error {
  const message = e instanceof Error ? e.message : String(e);
  if (/out of memory|failed to allocate memory|CUDNN_STATUS_ALLOC_FAILED|CUBLAS_STATUS_ALLOC_FAILED|std::bad_alloc/i.test(message)) {
    return new OutOfMemoryError(message);
  }
  if (/illegal memory access|unspecified launch failure|CUDA error|CUDA failure|CUDNN_STATUS_EXECUTION_FAILED|uncorrectable ECC|device-side assert/i.test(message)) {
    return new FatalError(message);
  }
  return e instanceof Error ? e : new Error(message);
}
