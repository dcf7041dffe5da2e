/**
 * `gpupool run` end to end, JSONL in and out, with no-op workers: items/s with the SQLite
 * journal and with a null journal (the journal's cost), per worker SDK.
 * Usage: node --import tsx bench/run/run-bench.ts [items=1000000] [reps=2] [configs=node:1,python:1,python:2] > result.json
 * Progress goes to stderr; the JSON result to stdout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { runJob } from '../../src/run/index.js';
import { openJournal, type JobJournal } from '../../src/store/index.js';
import { NullJournal } from './null-journal.js';

const items = Number(process.argv[2] ?? 1_000_000);
const reps = Number(process.argv[3] ?? 2);
const configs = (process.argv[4] ?? 'node:1,python:1,python:2').split(',').map((c) => {
  const [kind, n] = c.split(':');
  if (kind !== 'node' && kind !== 'python') throw new Error(`configs: "${c}" is not node:N or python:N`);
  return [kind, Number(n ?? 1)] as const;
});
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

/** Main-thread time spent inside the SQLite journal's commits: its direct cost, which noise does not blur. */
let commitMs = 0;
function timed(journal: JobJournal): JobJournal {
  const commit = journal.commit.bind(journal);
  journal.commit = (group) => {
    const t = performance.now();
    try {
      return commit(group);
    } finally {
      commitMs += performance.now() - t;
    }
  };
  return journal;
}

async function once(kind: keyof typeof workers, perDevice: number, journal: 'sqlite' | 'none') {
  const config = resolveConfig({ models: { echo: { command: workers[kind], devices: 'cpu', workers_per_device: perDevice, batch: { max: 64, timeout: '5ms', in_flight: 4 } } } }, root);
  const output = path.join(dir, `out-${kind}-${journal}.jsonl`);
  const stateDir = path.join(dir, `state-${kind}-${journal}`);
  const cpu0 = process.cpuUsage();
  commitMs = 0;
  const summary = await runJob({
    config,
    input,
    output,
    stateDir,
    fresh: true,
    progress: 'none',
    providers: [new CpuProvider()],
    openJournal: journal === 'none' ? () => new NullJournal() : (o) => timed(openJournal(o)),
  });
  const cpu = process.cpuUsage(cpu0);
  const lines = fs.readFileSync(output, 'utf8').split('\n').length - 1;
  if (lines !== items || summary.done !== items) throw new Error(`${kind}/${journal}: ${lines} lines, ${summary.done} done, expected ${items}`);
  fs.rmSync(output);
  // The journal's size on disk once the run has closed it (the WAL checkpointed into the file).
  const journalBytes = fs
    .readdirSync(stateDir)
    .filter((f) => f.startsWith('journal.sqlite'))
    .reduce((sum, f) => sum + fs.statSync(path.join(stateDir, f)).size, 0);
  fs.rmSync(stateDir, { recursive: true, force: true });
  // gpupool's own CPU per item (this process: scheduler, sink, journal, I/O threads): what a
  // shared machine disturbs far less than the rate, and what bounds the rate when gpupool is the bottleneck.
  const hostCpuNsPerItem = Math.round(((cpu.user + cpu.system) * 1000) / items);
  return { itemsPerSecond: Math.round(summary.itemsPerSecond), wallSeconds: summary.wallSeconds, hostCpuNsPerItem, ...(journal === 'sqlite' ? { journalBytes, journalBytesPerItem: journalBytes / items, commitMs: Math.round(commitMs), commitPercentOfWall: Math.round((1000 * commitMs) / (summary.wallSeconds * 1000)) / 10 } : {}) };
}

const runs: Record<string, unknown>[] = [];
for (const [kind, perDevice] of configs) {
  // Alternate the two journals, `reps` times, so drift on a shared machine hits both alike.
  const best: Record<string, { itemsPerSecond: number }> = {};
  for (let rep = 0; rep < reps; rep++) {
    for (const journal of ['sqlite', 'none'] as const) {
      const r = await once(kind, perDevice, journal);
      process.stderr.write(`${kind}×${perDevice} ${journal}: ${r.itemsPerSecond} items/s\n`);
      runs.push({ worker: kind, workers: perDevice, journal, rep, ...r });
      if (!best[journal] || r.itemsPerSecond > best[journal].itemsPerSecond) best[journal] = r;
    }
  }
  const mine = (journal: string) => runs.filter((r) => r.worker === kind && r.workers === perDevice && r.journal === journal);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const medianRate = (journal: string) => median(mine(journal).map((r) => r.itemsPerSecond as number));
  const medianCpu = (journal: string) => median(mine(journal).map((r) => r.hostCpuNsPerItem as number));
  const pct = (x: number) => Math.round(1000 * x) / 10;
  runs.push({
    worker: kind,
    workers: perDevice,
    // Best of each, median of each, and the journal's share of gpupool's CPU per item.
    journalOverheadPercent: pct(1 - best.sqlite.itemsPerSecond / best.none.itemsPerSecond),
    journalOverheadPercentOfMedians: pct(1 - medianRate('sqlite') / medianRate('none')),
    journalCpuSharePercent: pct(1 - medianCpu('none') / medianCpu('sqlite')),
  });
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ items, node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0].model, loadavg: os.loadavg(), runs }, null, 2));
