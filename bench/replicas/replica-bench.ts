/**
 * Off-the-shelf servers on real cards: a `kind: http` model started once per card behind the
 * replica proxy, then
 *  1. load: requests balanced across the replicas (counted per replica, PID and card);
 *  2. placement: every replica PID holds memory on its own card and no other (NVML or
 *     nvidia-smi, through gpupool's providers, and raw `nvidia-smi` output kept);
 *  3. a replica SIGKILLed under load: what the clients saw meanwhile, how long until its
 *     restart was healthy, and that the new process sits on the same card;
 *  4. load again: both replicas serve.
 * Writes summary.json (and nvidia-smi snapshots, replica logs) under --out; exits 1 when a
 * check fails. Runs without `gpupool serve`: it drives ReplicaSet + registerReplicaProxy.
 *
 * Usage: node --import tsx bench/replicas/replica-bench.ts -c examples/http-server/gpupool.yaml --out /tmp/out
 *   (bundled: node replica-bench.mjs …) [--model echo] [--requests 2000] [--concurrency 8]
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import Fastify from 'fastify';
import { loadConfig, pickModel } from '../../src/config/index.js';
import { closeDeviceProviders, openDeviceProviders, pinningEnv, snapshotDevices, type DeviceProvider } from '../../src/devices/index.js';
import type { PoolEvent } from '../../src/pool/index.js';
import { registerReplicaProxy, ReplicaSet } from '../../src/replicas/index.js';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', short: 'c' },
    out: { type: 'string', default: process.env.OUT ?? '/tmp/replica-bench' },
    model: { type: 'string', short: 'm' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
  },
});
if (!args.config) throw new Error('usage: replica-bench -c CONFIG [--out DIR] [--model NAME] [--requests N] [--concurrency N]');
const out = path.resolve(args.out!);
fs.mkdirSync(out, { recursive: true });
const requests = Number(args.requests);
const concurrency = Number(args.concurrency);
const t0 = performance.now();
const since = (): number => Math.round(performance.now() - t0);
const log = (line: string): void => void process.stderr.write(`[${(since() / 1000).toFixed(1)}s] ${line}\n`);

interface Tally {
  requests: number;
  ok: number;
  /** HTTP status → count, for the answers that were not 200. */
  statuses: Record<string, number>;
  networkErrors: number;
  perReplica: Record<string, number>;
  /** replica id → PIDs and what each said it sees. */
  seen: Record<string, { pids: number[]; cudaVisibleDevices: string[]; torchUuids: string[]; computedOn: string[] }>;
  wallMs: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
}

interface PredictBody {
  outputs: unknown[];
  pid: number;
  computed_on: string;
  device: { cuda_visible_devices?: string; uuid?: string };
}

const pct = (sorted: number[], p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);
const round = (x: number): number => Math.round(x * 100) / 100;
const addUnique = <T>(list: T[], v: T | undefined): void => {
  if (v !== undefined && !list.includes(v)) list.push(v);
};

/** `concurrency` clients sending POST /predict until `count` requests were sent or `until()` holds. */
async function load(url: string, count: number, until: () => boolean = () => false): Promise<Tally> {
  const tally: Tally = { requests: 0, ok: 0, statuses: {}, networkErrors: 0, perReplica: {}, seen: {}, wallMs: 0, requestsPerSecond: 0, latencyMs: { p50: 0, p99: 0, max: 0 } };
  const latencies: number[] = [];
  const start = performance.now();
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < count && !until()) {
      const i = next++;
      tally.requests++;
      const sent = performance.now();
      try {
        const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [i, i + 0.5, `item-${i}`] }) });
        const text = await res.text();
        latencies.push(performance.now() - sent);
        if (res.status !== 200) {
          tally.statuses[res.status] = (tally.statuses[res.status] ?? 0) + 1;
          continue;
        }
        const body = JSON.parse(text) as PredictBody;
        if (body.outputs[0] !== i * 2) throw new Error(`wrong output for ${i}: ${text}`);
        tally.ok++;
        const replica = res.headers.get('x-gpupool-replica') ?? '?';
        tally.perReplica[replica] = (tally.perReplica[replica] ?? 0) + 1;
        const seen = (tally.seen[replica] ??= { pids: [], cudaVisibleDevices: [], torchUuids: [], computedOn: [] });
        addUnique(seen.pids, body.pid);
        addUnique(seen.cudaVisibleDevices, body.device.cuda_visible_devices);
        addUnique(seen.torchUuids, body.device.uuid);
        addUnique(seen.computedOn, body.computed_on);
      } catch (err) {
        if ((err as Error).message.startsWith('wrong output')) throw err;
        tally.networkErrors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  tally.wallMs = Math.round(performance.now() - start);
  tally.requestsPerSecond = Math.round((tally.ok / tally.wallMs) * 1000);
  latencies.sort((a, b) => a - b);
  tally.latencyMs = { p50: round(pct(latencies, 50)), p99: round(pct(latencies, 99)), max: round(latencies.at(-1) ?? 0) };
  return tally;
}

/** Which cards each replica PID holds memory on, as the driver reports it; raw nvidia-smi kept beside. */
async function placement(set: ReplicaSet, providers: DeviceProvider[], label: string) {
  const smi = await promisify(execFile)('nvidia-smi', ['--query-compute-apps=pid,gpu_uuid,used_memory', '--format=csv,noheader']).then(
    (r) => r.stdout,
    (err: Error) => `nvidia-smi failed: ${err.message}`,
  );
  fs.writeFileSync(path.join(out, `nvidia-smi-apps-${label}.csv`), smi);
  const snapshot = await snapshotDevices(providers);
  fs.writeFileSync(path.join(out, `devices-${label}.json`), JSON.stringify(snapshot, null, 2));
  return set.replicas.map((r) => {
    const expected = r.options.devices.map((d) => d.uuid);
    const holders = snapshot.filter((d) => d.processes.some((p) => p.pid === r.pid));
    const seenOn = holders.map((d) => d.device.uuid);
    const entry = holders.flatMap((d) => d.processes.filter((p) => p.pid === r.pid))[0];
    const inSmi = smi.split('\n').filter((l) => l.startsWith(`${r.pid},`)).map((l) => l.split(',')[1]?.trim());
    return {
      replica: r.id,
      pid: r.pid,
      expected: r.options.devices.map((d) => `${d.key} ${d.uuid}`),
      seenOn: holders.map((d) => `${d.device.key} ${d.device.uuid}`),
      usedMiB: entry?.usedMemory !== undefined ? Math.round(entry.usedMemory / 2 ** 20) : undefined,
      ownerSeenByGpupool: entry?.worker,
      misplaced: entry?.misplaced ?? false,
      nvidiaSmiUuids: inSmi,
      ok: seenOn.length === expected.length && seenOn.every((u) => expected.includes(u)) && inSmi.length > 0 && inSmi.every((u) => expected.includes(u)) && entry?.worker === r.id,
    };
  });
}

const config = loadConfig(args.config);
const model = pickModel(config, args.model);
const providers = await openDeviceProviders();
const events: (PoolEvent & { atMs: number })[] = [];
log(`starting ${model.name} replicas from ${config.file}`);
const set = await ReplicaSet.start({
  model,
  baseDir: config.baseDir,
  logDir: path.join(out, 'logs'),
  providers,
  onEvent: (e) => {
    events.push({ ...e, atMs: since() });
    log(`${e.type} ${'worker' in e ? e.worker : ''} ${'message' in e ? e.message.split('\n')[0] : ''}`);
  },
});
const startedMs = since();
const app = Fastify();
registerReplicaProxy(app, new Map([[model.name, set]]));
const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/v1/models/${model.name}`;
const summary: Record<string, unknown> = { model: model.name, config: config.file, requests, concurrency, startMs: startedMs, replicasAtStart: set.describe() };
const checks: Record<string, boolean> = {};

try {
  log(`phase 1: ${requests} requests, ${concurrency} at a time`);
  const balanced = await load(url, requests);
  summary.balanced = balanced;
  const shares = Object.values(balanced.perReplica);
  checks.everyReplicaServed = shares.length === set.replicas.length && shares.every((n) => n > 0);
  checks.sharesWithin25PercentOfEven = shares.every((n) => Math.abs(n - balanced.ok / set.replicas.length) <= 0.25 * (balanced.ok / set.replicas.length));
  checks.phase1AllOk = balanced.ok === requests;
  checks.eachReplicaSeesOnlyItsCard = set.replicas.every((r) => {
    const seen = balanced.seen[r.id];
    return seen !== undefined && seen.cudaVisibleDevices.length === 1 && seen.cudaVisibleDevices[0] === pinningEnv(r.options.devices).CUDA_VISIBLE_DEVICES;
  });

  const before = await placement(set, providers, 'before-kill');
  summary.placementBeforeKill = before;
  checks.pinnedBeforeKill = before.every((p) => p.ok);

  const victim = set.replicas[0];
  const oldPid = victim.pid!;
  log(`phase 2: SIGKILL ${victim.id} (pid ${oldPid}) under load`);
  const killedAt = performance.now();
  let restartedAt: number | undefined;
  const watch = setInterval(() => {
    if (restartedAt === undefined && victim.restarts > 0 && victim.state === 'ready') restartedAt = performance.now();
  }, 5);
  const during = load(url, Number.MAX_SAFE_INTEGER, () => restartedAt !== undefined || performance.now() - killedAt > 90_000);
  process.kill(oldPid, 'SIGKILL');
  summary.duringRestart = await during;
  clearInterval(watch);
  summary.restartMs = restartedAt === undefined ? null : Math.round(restartedAt - killedAt);
  checks.restarted = restartedAt !== undefined && victim.pid !== undefined && victim.pid !== oldPid;
  summary.victim = { id: victim.id, oldPid, newPid: victim.pid, restarts: victim.restarts, lastExit: victim.lastExit };

  log('phase 3: load after the restart');
  const after = await load(url, requests);
  summary.afterRestart = after;
  checks.phase3AllOk = after.ok === requests;
  checks.bothServeAfterRestart = Object.keys(after.perReplica).length === set.replicas.length;
  checks.restartedReplicaServesFromNewPid = after.seen[victim.id]?.pids.includes(victim.pid!) ?? false;
  const afterPlacement = await placement(set, providers, 'after-restart');
  summary.placementAfterRestart = afterPlacement;
  checks.pinnedAfterRestart = afterPlacement.every((p) => p.ok);
} finally {
  summary.replicasAtEnd = set.describe();
  summary.events = events;
  summary.checks = checks;
  summary.ok = Object.values(checks).length > 0 && Object.values(checks).every(Boolean);
  summary.wallMs = since();
  fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2));
  await app.close();
  await set.close(5000);
  await closeDeviceProviders(providers);
}
log(`checks: ${JSON.stringify(checks)}`);
log(summary.ok ? 'ALL CHECKS PASSED' : 'SOME CHECKS FAILED');
process.exitCode = summary.ok ? 0 : 1;
