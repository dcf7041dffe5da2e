// Runs the OCR pipeline directly (no gpupool) over a folder of pages, writes JSONL results,
// and prints pages/s and, where NNN.txt truth files exist, character accuracy.
//
//   node --import tsx examples/ocr/bench.ts [--pages DIR] [--out FILE.jsonl] [--threads N] [--procs N]
//
// --threads: onnxruntime intra-op threads per process (default 1);
// --procs:   processes sharing the pages (default 1), as gpupool's workers_per_device would.
import { mkdirSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OcrPipeline } from './ocr-pipeline.js';
import { formatScore, readResults, scoreTexts } from './score.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    pages: { type: 'string', default: path.join(here, 'pages') },
    out: { type: 'string', default: 'out/ocr-bench.jsonl' },
    threads: { type: 'string', default: '1' },
    procs: { type: 'string', default: '1' },
    // internal: a child process handles every procs-th page starting at shard
    shard: { type: 'string' },
  },
});
const pagesDir = path.resolve(values.pages!);
const files = readdirSync(pagesDir)
  .filter((f) => /\.(png|jpe?g)$/i.test(f))
  .sort()
  .map((f) => path.join(pagesDir, f));
const threads = Number(values.threads);
const procs = Math.max(1, Number(values.procs));

async function runShard(shard: number, of: number): Promise<string[]> {
  const ocr = await OcrPipeline.create({ threads });
  const lines: string[] = [];
  for (let i = shard; i < files.length; i += of) {
    const output = await ocr.ocrPage(files[i]);
    lines.push(JSON.stringify({ input: { path: files[i] }, output }));
  }
  await ocr.release();
  return lines;
}

if (values.shard !== undefined) {
  const lines = await runShard(Number(values.shard), procs);
  process.stdout.write(lines.join('\n') + '\n');
} else {
  const t0 = performance.now();
  let lines: string[];
  if (procs === 1) {
    // warm-up excluded from the timing: model load is once per worker's life
    const ocr = await OcrPipeline.create({ threads });
    const tLoad = performance.now();
    console.log(`models loaded in ${((tLoad - t0) / 1000).toFixed(2)} s (${ocr.provider}, ${threads} thread(s))`);
    await ocr.ocrPage(files[0]);
    const t1 = performance.now();
    lines = [];
    for (const f of files) lines.push(JSON.stringify({ input: { path: f }, output: await ocr.ocrPage(f) }));
    const secs = (performance.now() - t1) / 1000;
    console.log(`${files.length} pages in ${secs.toFixed(2)} s: ${(files.length / secs).toFixed(2)} pages/s, ${((secs / files.length) * 1000).toFixed(0)} ms/page`);
  } else {
    // each child loads its models then processes its shard; timing includes the model loads
    const self = fileURLToPath(import.meta.url);
    const outs = await Promise.all(
      Array.from({ length: procs }, (_, shard) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', self, '--pages', pagesDir, '--threads', String(threads), '--procs', String(procs), '--shard', String(shard)], { stdio: ['ignore', 'pipe', 'inherit'] });
          let buf = '';
          child.stdout.on('data', (d) => (buf += d));
          child.on('exit', (code) => (code === 0 ? resolve(buf) : reject(new Error(`shard ${shard} exited ${code}`))));
        }),
      ),
    );
    lines = outs.join('\n').split('\n').filter((l) => l.trim() !== '');
    const secs = (performance.now() - t0) / 1000;
    console.log(`${files.length} pages in ${secs.toFixed(2)} s with ${procs} processes x ${threads} thread(s), model loads included: ${(files.length / secs).toFixed(2)} pages/s`);
  }
  mkdirSync(path.dirname(path.resolve(values.out!)), { recursive: true });
  writeFileSync(values.out!, lines.join('\n') + '\n');
  console.log(`results: ${values.out}`);
  if (readdirSync(pagesDir).some((f) => f.endsWith('.txt'))) {
    console.log(formatScore(scoreTexts(readResults(readFileSync(values.out!, 'utf8')), pagesDir)));
  }
}
