import { setTimeout as sleep } from 'node:timers/promises';
import { auditSnapshots, type AuditFindings, type Stray } from '../../audit/index.js';
import { isGpupoolError, GpupoolError } from '../../errors/index.js';
import {
  closeDeviceProviders,
  isDeviceToolError,
  openDeviceProviders,
  processesLeftOut,
  snapshotDevices,
  type DeviceSnapshot,
  type OwnedDeviceProcess,
} from '../../devices/index.js';

/** @defaultValue seconds between redraws for a bare `--watch`. */
export const DEFAULT_WATCH_SECONDS = 2;

export interface DevicesCommandOptions {
  /** Print JSON (an array of {@link DeviceJson}); with `watch`, one array per line. */
  readonly json?: boolean;
  /** Redraw every N seconds (`true`: {@link DEFAULT_WATCH_SECONDS}) until Ctrl-C or `signal`. */
  readonly watch?: number | boolean;
  /** @defaultValue `process.stdout` */
  readonly out?: NodeJS.WritableStream;
  /** Stops `watch` (tests; embedding). */
  readonly signal?: AbortSignal;
  /** @defaultValue `process.env`: tool overrides and NO_COLOR are read from it. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Under the table in a container: why processes are missing although memory is used. */
function otherNamespaceNote(leftOut: number): string {
  return (
    `processes: ${leftOut} listed by the driver not shown: their PIDs are no process of this PID namespace (a container; an older driver reports the host's PIDs);\n` +
    "a running gpupool still learns its own workers' (docs/deploy.md, Containers and device PIDs). Used memory counts every process.\n"
  );
}

/** `gpupool devices`: every device, its memory and who holds it. */
export async function devicesCommand(opts: DevicesCommandOptions = {}): Promise<void> {
  const out = opts.out ?? process.stdout;
  const env = opts.env ?? process.env;
  const seconds = watchSeconds(opts.watch);
  const tty = out as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  const color = Boolean(tty.isTTY) && env.NO_COLOR === undefined;
  const providers = await openDeviceProviders({ env });
  const render = async (oneLine: boolean): Promise<string> => {
    const snapshots = await snapshotDevices(providers);
    const audit = await auditSnapshots(snapshots);
    if (opts.json) return `${JSON.stringify(devicesToJson(snapshots, audit), null, oneLine ? undefined : 2)}\n`;
    const leftOut = processesLeftOut(providers);
    return `${renderDeviceTable(snapshots, { color, width: tty.columns ?? 100, audit })}\n${leftOut > 0 ? otherNamespaceNote(leftOut) : ''}`;
  };
  try {
    if (seconds === undefined) {
      out.write(await render(false));
      return;
    }
    await watchLoop(out, seconds, opts, render);
  } finally {
    await closeDeviceProviders(providers);
  }
}

async function watchLoop(
  out: NodeJS.WritableStream,
  seconds: number,
  opts: DevicesCommandOptions,
  render: (oneLine: boolean) => Promise<string>,
): Promise<void> {
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  const onAbort = (): void => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  try {
    while (!stop.signal.aborted) {
      let text: string;
      try {
        text = await render(true);
      } catch (err) {
        // A driver hiccup shows as a line and the next tick tries again.
        if (!isGpupoolError(err) && !isDeviceToolError(err)) throw err;
        text = `error: ${err.message}\n`;
      }
      if (stop.signal.aborted) break;
      out.write(opts.json ? text : `\x1b[2J\x1b[Hgpupool devices · every ${seconds} s · ${new Date().toLocaleTimeString()} · Ctrl-C to stop\n\n${text}`);
      await sleep(seconds * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onSigint);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function watchSeconds(watch: number | boolean | undefined): number | undefined {
  if (watch === undefined || watch === false) return undefined;
  if (watch === true) return DEFAULT_WATCH_SECONDS;
  if (!Number.isFinite(watch) || watch <= 0) {
    throw new GpupoolError('GPUPOOL_E_USAGE', `\`--watch\` takes a number of seconds > 0, got "${String(watch)}".`);
  }
  return watch;
}

/** The stable `--json` shape of one device: absent values are `null`, never missing. */
export interface DeviceJson {
  key: string;
  vendor: string;
  index: number;
  uuid: string;
  name: string;
  pciBusId: string | null;
  memoryTotal: number;
  memoryUsed: number | null;
  memoryFree: number | null;
  utilization: number | null;
  processes: {
    pid: number;
    usedMemory: number | null;
    worker: string | null;
    model: string | null;
    ours: boolean;
    misplaced: boolean;
    /** A child (or deeper) of its worker, not the worker itself. */
    child: boolean;
    /** Set when this process is part of a stray (docs/doctor.md). */
    stray: { kind: Stray['kind']; message: string; remedy: string } | null;
  }[];
}

/** With `audit`, each process says whether it is a worker's child and whether it is part of a stray. */
export function devicesToJson(snapshots: readonly DeviceSnapshot[], audit?: AuditFindings): DeviceJson[] {
  return snapshots.map(({ device, sample, processes }) => ({
    key: device.key,
    vendor: device.vendor,
    index: device.index,
    uuid: device.uuid,
    name: device.name,
    pciBusId: device.pciBusId ?? null,
    memoryTotal: sample?.memoryTotal || device.memoryTotal,
    memoryUsed: sample?.memoryUsed ?? null,
    memoryFree: sample?.memoryFree ?? null,
    utilization: sample?.utilization ?? null,
    processes: processes.map((p) => ({
      pid: p.pid,
      usedMemory: p.usedMemory ?? null,
      worker: p.worker ?? null,
      model: p.model ?? null,
      ours: p.ours,
      misplaced: p.misplaced ?? false,
      child: isChild(audit, p.pid, device.key),
      stray: strayJson(strayOf(audit, p.pid, device.key)),
    })),
  }));
}

export interface RenderOptions {
  /** ANSI colours. @defaultValue false */
  readonly color?: boolean;
  /** Terminal columns; the name column gives way first. @defaultValue 100 */
  readonly width?: number;
  /** The audit of these snapshots: strays are marked, and listed with their remedy below the table. */
  readonly audit?: AuditFindings;
}

function strayOf(audit: AuditFindings | undefined, pid: number, deviceKey: string): Stray | undefined {
  return audit?.strays.find((s) => s.deviceKey === deviceKey && s.pids.includes(pid));
}

function isChild(audit: AuditFindings | undefined, pid: number, deviceKey: string): boolean {
  return audit?.ours.some((o) => o.pid === pid && o.deviceKey === deviceKey && o.child) ?? false;
}

function strayJson(s: Stray | undefined): DeviceJson['processes'][number]['stray'] {
  return s ? { kind: s.kind, message: s.message, remedy: s.remedy } : null;
}

const BAR_CELLS = 10;
const GIB = 1024 ** 3;

/**
 * The `gpupool devices` table: index, key, short UUID, name, a memory bar
 * `[██████░░░░] 41.2/80.0 GiB`, utilisation, and under each device its processes with
 * their memory and owner (`gpupool worker ocr/cuda:1/0` or `other`).
 */
export function renderDeviceTable(snapshots: readonly DeviceSnapshot[], opts: RenderOptions = {}): string {
  const paint = painter(opts.color ?? false);
  const width = opts.width ?? 100;
  if (snapshots.length === 0) return 'no devices';
  const rows = snapshots.map((s) => ({
    idx: String(s.device.index),
    key: s.device.key,
    uuid: shortUuid(s.device.uuid),
    name: s.device.name,
    memory: memoryText(s),
    util: s.sample?.utilization === undefined ? '-' : `${Math.round(s.sample.utilization)}%`,
    fraction: usedFraction(s),
    snapshot: s,
  }));
  const w = {
    idx: Math.max(3, ...rows.map((r) => r.idx.length)),
    key: Math.max(6, ...rows.map((r) => r.key.length)),
    uuid: Math.max(4, ...rows.map((r) => r.uuid.length)),
    memory: Math.max(6, ...rows.map((r) => r.memory.length)),
    util: 4,
  };
  const fixed = w.idx + w.key + w.uuid + (BAR_CELLS + 2) + 1 + w.memory + w.util + 2 * 6;
  const nameWidth = Math.max(8, Math.min(Math.max(4, ...rows.map((r) => r.name.length)), width - fixed));
  const header = [
    'IDX'.padStart(w.idx),
    'DEVICE'.padEnd(w.key),
    'UUID'.padEnd(w.uuid),
    'NAME'.padEnd(nameWidth),
    'MEMORY'.padEnd(BAR_CELLS + 3 + w.memory),
    'UTIL'.padStart(w.util),
  ].join('  ');
  const lines = [paint.bold(header.trimEnd())];
  for (const r of rows) {
    lines.push(
      [
        r.idx.padStart(w.idx),
        r.key.padEnd(w.key),
        paint.dim(r.uuid.padEnd(w.uuid)),
        truncate(r.name, nameWidth).padEnd(nameWidth),
        `${bar(r.fraction, paint)} ${r.memory.padStart(w.memory)}`,
        r.util.padStart(w.util),
      ].join('  '),
    );
    for (const p of r.snapshot.processes) lines.push(processLine(p, r.key, w.idx + 2, paint, opts.audit));
  }
  for (const s of opts.audit?.strays ?? []) lines.push('', paint.red(s.message), `  remedy: ${s.remedy}`);
  return lines.join('\n');
}

function processLine(p: OwnedDeviceProcess, deviceKey: string, indent: number, paint: Painter, audit?: AuditFindings): string {
  const memory = p.usedMemory === undefined ? '?' : formatBytes(p.usedMemory);
  const stray = strayOf(audit, p.pid, deviceKey);
  const mark = stray
    ? paint.red(stray.kind === 'wrong-device' ? ' (stray: not given this device)' : ' (stray: over memory.limit)')
    : p.misplaced ? paint.red(' (not pinned to this device)') : '';
  const child = isChild(audit, p.pid, deviceKey) ? 'child of ' : '';
  const owner = p.ours
    ? paint.cyan(`${child}gpupool worker ${p.worker ?? '?'}`) + mark
    : paint.yellow('other');
  return `${' '.repeat(indent)}${`PID ${p.pid}`.padEnd(12)} ${memory.padStart(10)}  ${owner}`;
}

function memoryText(s: DeviceSnapshot): string {
  if (!s.sample) return 'n/a';
  const total = s.sample.memoryTotal || s.device.memoryTotal;
  if (total <= 0) return `${(s.sample.memoryUsed / GIB).toFixed(1)} GiB used`;
  return `${(s.sample.memoryUsed / GIB).toFixed(1)}/${(total / GIB).toFixed(1)} GiB`;
}

function usedFraction(s: DeviceSnapshot): number | undefined {
  const total = s.sample ? s.sample.memoryTotal || s.device.memoryTotal : 0;
  return s.sample && total > 0 ? Math.min(1, Math.max(0, s.sample.memoryUsed / total)) : undefined;
}

function bar(fraction: number | undefined, paint: Painter): string {
  if (fraction === undefined) return `[${paint.dim('-'.repeat(BAR_CELLS))}]`;
  const full = Math.round(fraction * BAR_CELLS);
  const filled = '█'.repeat(full);
  const tint = fraction >= 0.9 ? paint.red : fraction >= 0.6 ? paint.yellow : paint.green;
  return `[${tint(filled)}${paint.dim('░'.repeat(BAR_CELLS - full))}]`;
}

/** `GPU-5f1c7a2e-…` → `GPU-5f1c7a2e`: enough to tell cards apart and to select by prefix. */
export function shortUuid(uuid: string): string {
  const m = /^(GPU|MIG)-([0-9a-f]{8})/i.exec(uuid);
  if (m) return `${m[1]}-${m[2]}`;
  return truncate(uuid, 16);
}

/** Bytes for humans: GiB from 1 GiB up, else MiB. */
export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${(bytes / GIB).toFixed(1)} GiB`;
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

type Paint = (text: string) => string;
interface Painter {
  bold: Paint;
  dim: Paint;
  red: Paint;
  yellow: Paint;
  green: Paint;
  cyan: Paint;
}

function painter(color: boolean): Painter {
  const sgr = (open: number, close: number): Paint => (color ? (t) => (t ? `\x1b[${open}m${t}\x1b[${close}m` : t) : (t) => t);
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), yellow: sgr(33, 39), green: sgr(32, 39), cyan: sgr(36, 39) };
}
