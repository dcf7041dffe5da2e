/**
 * `gpupool run` end to end, JSONL in and out, with no-op workers: items/s with the SQLite
 * journal and with a null journal (the journal's cost), per worker SDK.
 * Usage: node --import tsx bench/run/run-bench.ts [items=1000000] > result.json
 * Progress goes to stderr; the JSON result to stdout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { runJob } from '../../src/run/index.js';
import { NullJournal } from './null-journal.js';

const items = Number(process.argv[2] ?? 1_000_000);
const root = path.resolve(import.meta.dirname, '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-run-bench-'));
const input = path.join(dir, 'items.jsonl');

// Items of ~100 B (the dispatch target's "≤ 128 B"), written in chunks so the generator stays small.
const out = fs.openSync(input, 'w');
for (let start = 0; start < items; start += 100_000) {
  const lines: string[] = [];
  for (let i = start; i < Math.min(items, start + 100_000); i++) lines.push(`{"n":${i},"text":"${'x'.repeat(80)}"}\n`);
  fs.writeSync(out, lines.join(''));
}
fs.closeSync(out);

const workers = {
  node: ['node', path.join(root, 'examples/noop/noop-worker.mjs')],
  python: ['python3', path.join(root, 'examples/noop/noop-worker.py')],
};

async function once(kind: keyof typeof workers, perDevice: number, journal: 'sqlite' | 'none') {
  const config = resolveConfig({ models: { echo: { command: workers[kind], devices: 'cpu', workers_per_device: perDevice, batch: { max: 64, timeout: '5ms', in_flight: 4 } } } }, root);
  const output = path.join(dir, `out-${kind}-${journal}.jsonl`);
  const summary = await runJob({
    config,
    input,
    output,
    fresh: true,
    progress: 'none',
    providers: [new CpuProvider()],
    openJournal: journal === 'none' ? () => new NullJournal() : undefined,
  });
  const lines = fs.readFileSync(output, 'utf8').split('\n').length - 1;
  if (lines !== items || summary.done !== items) throw new Error(`${kind}/${journal}: ${lines} lines, ${summary.done} done, expected ${items}`);
  fs.rmSync(output);
  return { itemsPerSecond: Math.round(summary.itemsPerSecond), wallSeconds: summary.wallSeconds };
}

const runs: Record<string, unknown>[] = [];
for (const [kind, perDevice] of [['node', 1], ['python', 1], ['python', 2]] as const) {
  // Alternate the two journals, twice, so drift on a shared machine hits both alike.
  const best: Record<string, { itemsPerSecond: number }> = {};
  for (let rep = 0; rep < 2; rep++) {
    for (const journal of ['sqlite', 'none'] as const) {
      const r = await once(kind, perDevice, journal);
      process.stderr.write(`${kind}×${perDevice} ${journal}: ${r.itemsPerSecond} items/s\n`);
      runs.push({ worker: kind, workers: perDevice, journal, rep, ...r });
      if (!best[journal] || r.itemsPerSecond > best[journal].itemsPerSecond) best[journal] = r;
    }
  }
  runs.push({ worker: kind, workers: perDevice, journalOverheadPercent: Math.round(1000 * (1 - best.sqlite.itemsPerSecond / best.none.itemsPerSecond)) / 10 });
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ items, node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0].model, loadavg: os.loadavg(), runs }, null, 2));
