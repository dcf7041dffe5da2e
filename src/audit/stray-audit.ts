import type { DeviceProvider } from '../devices/index.js';
import type { AuditFindings, AuditSample, DeviceProcessSample, OnStray, ProcessFacts, Stray, Tenant, WorkerAssignment } from './audit-types.js';
import { findStrays } from './find-strays.js';
import { killStray } from './kill-stray.js';
import { readProcessFacts } from './read-process-facts.js';

/** @defaultValue how often the audit reads the drivers, in ms: a stray is reported within this (plus one driver read). */
export const DEFAULT_AUDIT_EVERY_MS = 2000;

/** What the audit tells its owner; `message` is one line for logs. */
export type AuditEvent =
  | { type: 'stray'; stray: Stray; action: 'reported' | 'killed' | 'kill-failed'; message: string }
  | { type: 'stray-cleared'; stray: Stray; message: string };

export interface StrayAuditOptions {
  /** Device providers; the CPU provider lists no processes and is not read. */
  readonly providers: readonly DeviceProvider[];
  /** The workers as they are now (PIDs change on restart). */
  readonly assignments: () => readonly WorkerAssignment[];
  /** @defaultValue {@link DEFAULT_AUDIT_EVERY_MS} */
  readonly everyMs?: number;
  /** @defaultValue `warn` */
  readonly onStray?: OnStray;
  /** Workers started by other gpupools are tenants. @defaultValue `process.pid` */
  readonly poolPid?: number;
  /** @defaultValue `/proc` */
  readonly procRoot?: string;
  readonly onEvent?: (event: AuditEvent) => void;
  /** Every raw sample, for recording (`GPUPOOL_AUDIT_RECORD`). */
  readonly onSample?: (sample: AuditSample, findings: AuditFindings) => void;
}

/**
 * The stray audit: every few seconds, per-process device memory from the drivers is
 * compared with the assignments (design: trust, then verify). A stray is reported once
 * when it appears and once when it is gone; with `onStray: 'kill'` its processes are
 * killed. `strays` and `tenants` always hold the latest reading, for displays and metrics.
 */
export class StrayAudit {
  /** The strays of the latest check, each with the time it was first seen. */
  strays: readonly Stray[] = [];
  /** Processes of others on the devices, with the memory they hold, at the latest check. */
  tenants: readonly Tenant[] = [];
  /** When the latest check read the drivers (ms since the epoch). */
  checkedAt?: number;
  /** Why the latest check could not read a provider, if it could not. */
  lastError?: string;
  readonly onStray: OnStray;
  readonly everyMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private deviceKeys?: Map<string, string>;

  constructor(private readonly options: StrayAuditOptions) {
    this.onStray = options.onStray ?? 'warn';
    this.everyMs = options.everyMs ?? DEFAULT_AUDIT_EVERY_MS;
  }

  /** Checks now, then every `everyMs` until `stop()`. */
  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One check, unless one is under way (then that one). Never rejects: a failed check is kept in `lastError` and the next one tries again. */
  tick(): Promise<void> {
    this.running ??= this.check()
      .catch((err: unknown) => {
        this.lastError = err instanceof Error ? err.message : String(err);
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async check(): Promise<void> {
    const accelerators = this.options.providers.filter((p) => p.vendor !== 'cpu');
    this.deviceKeys ??= new Map((await Promise.all(accelerators.map((p) => p.list().catch(() => [])))).flat().map((d) => [d.uuid, d.key]));
    const errors: string[] = [];
    const listed = await Promise.all(
      accelerators.map((p) =>
        p.processes().catch((err: unknown) => {
          errors.push(`${p.source}: ${(err as Error).message}`);
          return [];
        }),
      ),
    );
    const processes: DeviceProcessSample[] = listed.flat().map((p) => ({
      pid: p.pid,
      deviceUuid: p.deviceUuid,
      deviceKey: this.deviceKeys!.get(p.deviceUuid) ?? p.deviceUuid,
      ...(p.usedMemory === undefined ? {} : { usedMemory: p.usedMemory }),
    }));
    const assignments = this.options.assignments();
    const stopAt = new Set(assignments.flatMap((a) => (a.pid === undefined ? [] : [a.pid])));
    const facts = await readProcessFacts(processes.map((p) => p.pid), { procRoot: this.options.procRoot, stopAt });
    const sample: AuditSample = { at: Date.now(), processes, facts };
    const findings = findStrays(sample, assignments, { poolPid: this.options.poolPid ?? process.pid });
    this.options.onSample?.(sample, findings);
    await this.apply(findings, facts);
    this.tenants = findings.tenants;
    this.checkedAt = sample.at;
    this.lastError = errors.length > 0 ? errors.join('; ') : undefined;
  }

  private async apply(findings: AuditFindings, facts: readonly ProcessFacts[]): Promise<void> {
    const before = new Map(this.strays.map((s) => [s.id, s]));
    const now = findings.strays.map((s) => {
      const earlier = before.get(s.id);
      return earlier ? { ...s, since: earlier.since } : s;
    });
    this.strays = now;
    for (const stray of now) {
      const known = before.get(stray.id);
      // Reported once, and again only when a new process joins it; killed on every check while it lasts.
      const news = !known || stray.pids.some((p) => !known.pids.includes(p));
      if (this.onStray === 'warn') {
        if (news) this.emit({ type: 'stray', stray, action: 'reported', message: stray.message });
        continue;
      }
      const outcome = await killStray(stray, facts, this.options.procRoot);
      if (!news && outcome.killed.length === 0) continue;
      if (outcome.killed.length > 0) {
        const pids = `PID${outcome.killed.length > 1 ? 's' : ''} ${outcome.killed.join(', ')}`;
        this.emit({ type: 'stray', stray, action: 'killed', message: `${stray.message}; killed ${pids}` });
      } else {
        const why = outcome.spared.map((s) => `PID ${s.pid} ${s.reason}`).join(', ');
        const gone = outcome.spared.every((s) => s.reason === 'already gone');
        this.emit({ type: 'stray', stray, action: gone ? 'reported' : 'kill-failed', message: `${stray.message}; not killed: ${why}` });
      }
    }
    const ids = new Set(now.map((s) => s.id));
    for (const gone of before.values()) {
      if (!ids.has(gone.id)) this.emit({ type: 'stray-cleared', stray: gone, message: `stray gone: ${gone.worker} on ${gone.deviceKey}` });
    }
  }

  private emit(event: AuditEvent): void {
    this.options.onEvent?.(event);
  }
}
