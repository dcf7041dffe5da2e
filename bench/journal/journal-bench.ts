/**
 * How many items per second the journal absorbs, and what it costs on disk per item.
 *
 *   node --import tsx bench/journal/journal-bench.ts [--items 2000000] [--group 4096]
 *        [--order batches|random] [--durability process|fsync] [--failed-every 0]
 *        [--layouts runs,rows] [--dir DIR]
 *
 * Commits `--items` seqs in groups of `--group`, as the runner does, into the real journal
 * (`runs`: one blob of seq runs per group), and the same groups into the simple alternative
 * (`rows`: a row per item, `(seq INTEGER PRIMARY KEY, state INTEGER) WITHOUT ROWID`), then
 * reopens each and reads the state back. Prints JSON on stdout: `bytesWithWal` is the
 * state directory at the end of the commits (WAL included), `fileBytes` the journal after
 * close, `groupRecordBytesPerItem` what a group's record costs before records are folded.
 *
 * Orders: `batches` models the pool: batches of 64 consecutive seqs that complete shuffled
 * within a window of 40 batches in flight; `random` is the worst case, a random permutation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openJournal, statePaths, type Durability } from '../../src/store/index.js';
import { encodeSeqs } from '../../src/store/seq-codec.js';

const { values: opts } = parseArgs({
  options: {
    items: { type: 'string', default: '2000000' },
    group: { type: 'string', default: '4096' },
    order: { type: 'string', default: 'batches' },
    durability: { type: 'string', default: 'process' },
    'failed-every': { type: 'string', default: '0' },
    layouts: { type: 'string', default: 'runs,rows' },
    dir: { type: 'string' },
  },
});
const items = Number(opts.items);
const groupSize = Number(opts.group);
const durability = opts.durability as Durability;
const failedEvery = Number(opts['failed-every']);
const order = opts.order;
if (order !== 'batches' && order !== 'random') throw new Error(`--order must be batches or random, got ${order}`);

/** A deterministic generator, so both layouts see the same groups. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (Math.imul(s, 48271) >>> 0) % 2147483647) / 2147483647;
}

function shuffle(a: Uint32Array, from: number, to: number, rand: () => number): void {
  for (let i = to - 1; i > from; i--) {
    const j = from + Math.floor(rand() * (i - from + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

function completionOrder(): Uint32Array {
  const rand = rng(42);
  const seqs = Uint32Array.from({ length: items }, (_, i) => i);
  if (order === 'random') {
    shuffle(seqs, 0, items, rand);
    return seqs;
  }
  const batch = 64;
  const window = 40;
  const batches = Math.ceil(items / batch);
  const ids = Uint32Array.from({ length: batches }, (_, i) => i);
  for (let w = 0; w < batches; w += window) shuffle(ids, w, Math.min(w + window, batches), rand);
  const out = new Uint32Array(items);
  let k = 0;
  for (const b of ids) for (let s = b * batch; s < Math.min((b + 1) * batch, items); s++) out[k++] = s;
  return out;
}

interface Group {
  done: Uint32Array;
  failed: { seq: number; code: string; message: string; id: number }[];
  outputBytes: number;
}

function groups(seqs: Uint32Array): Group[] {
  const out: Group[] = [];
  let bytes = 0;
  for (let g = 0; g < seqs.length; g += groupSize) {
    const slice = seqs.subarray(g, Math.min(g + groupSize, seqs.length));
    const failed: Group['failed'] = [];
    const done: number[] = [];
    for (const s of slice) {
      if (failedEvery > 0 && s % failedEvery === 0) failed.push({ seq: s, code: 'GPUPOOL_E_ITEM_FAILED', message: `item ${s}: bad input`, id: s });
      else done.push(s);
    }
    bytes += done.length * 120;
    out.push({ done: Uint32Array.from(done), failed, outputBytes: bytes });
  }
  return out;
}

function dirBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

function benchRuns(dir: string, work: Group[]): Record<string, number> {
  const stateDir = path.join(dir, 'runs');
  const journal = openJournal({ stateDir, identity: { fingerprint: 'bench', description: { bench: true } }, durability });
  const t0 = process.hrtime.bigint();
  for (const g of work) journal.commit(g);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const withWal = dirBytes(stateDir);
  journal.close();
  const fileBytes = fs.statSync(statePaths(stateDir).journal).size;

  const r0 = process.hrtime.bigint();
  const again = openJournal({ stateDir, identity: { fingerprint: 'bench', description: { bench: true } } });
  const state = again.resume();
  const resumeMs = Number(process.hrtime.bigint() - r0) / 1e6;
  again.close();
  if (state.done.size + state.failed.size !== items) throw new Error(`runs: read back ${state.done.size + state.failed.size} of ${items}`);
  // What one group's record costs before folding (not timed).
  const groupBlobBytes = work.reduce((n, g) => n + encodeSeqs(g.done).length, 0);
  return {
    seconds,
    itemsPerSecond: items / seconds,
    commits: work.length,
    groupRecordBytesPerItem: groupBlobBytes / items,
    bytesWithWal: withWal,
    fileBytes,
    bytesPerItem: fileBytes / items,
    resumeMs,
  };
}

function benchRows(dir: string, work: Group[]): Record<string, number> {
  const file = path.join(dir, 'rows.sqlite');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'fsync' ? 'FULL' : 'NORMAL'}`);
  db.exec(`CREATE TABLE items (seq INTEGER PRIMARY KEY, state INTEGER NOT NULL) WITHOUT ROWID;
           CREATE TABLE failed (seq INTEGER PRIMARY KEY, item_id, code TEXT, message TEXT);
           CREATE TABLE progress (id INTEGER PRIMARY KEY, output_bytes INTEGER);
           INSERT INTO progress VALUES (1, 0);`);
  const put = db.prepare('INSERT OR REPLACE INTO items (seq, state) VALUES (?, ?)');
  const fail = db.prepare('INSERT OR REPLACE INTO failed (seq, item_id, code, message) VALUES (?, ?, ?, ?)');
  const progress = db.prepare('UPDATE progress SET output_bytes = ? WHERE id = 1');
  const commit = db.transaction((g: Group) => {
    for (const s of g.done) put.run(s, 1);
    for (const f of g.failed) {
      put.run(f.seq, 2);
      fail.run(f.seq, f.id, f.code, f.message);
    }
    progress.run(g.outputBytes);
  });
  const t0 = process.hrtime.bigint();
  for (const g of work) commit(g);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const withWal = dirBytes(dir) - dirBytes(path.join(dir, 'runs'));
  db.close();
  const fileBytes = fs.statSync(file).size;

  const r0 = process.hrtime.bigint();
  const again = new Database(file, { readonly: true });
  let n = 0;
  for (const _ of again.prepare('SELECT seq FROM items').pluck().iterate()) n++;
  const resumeMs = Number(process.hrtime.bigint() - r0) / 1e6;
  again.close();
  if (n !== items) throw new Error(`rows: read back ${n} of ${items}`);
  return { seconds, itemsPerSecond: items / seconds, commits: work.length, bytesWithWal: withWal, fileBytes, bytesPerItem: fileBytes / items, resumeMs };
}

const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-journal-bench-'));
fs.mkdirSync(dir, { recursive: true });
try {
  const work = groups(completionOrder());
  const layouts = opts.layouts.split(',');
  const runs = benchRuns(dir, work);
  const rows = layouts.includes('rows') ? benchRows(dir, work) : undefined;
  const round = (r: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number.isInteger(v) ? v : Number(v.toPrecision(4))]));
  process.stdout.write(
    `${JSON.stringify(
      {
        items,
        groupSize,
        order,
        durability,
        failedEvery,
        cpus: os.cpus().length,
        node: process.version,
        runs: round(runs),
        rows: rows === undefined ? undefined : round(rows),
        target: { itemsPerSecond: 2_000_000, met: runs.itemsPerSecond >= 2_000_000 },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  if (opts.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
}
