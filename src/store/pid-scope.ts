/**
 * Where a recorded PID names a process. A hostname is not enough: containers on one machine
 * that share its network (Kubernetes `hostNetwork`, Docker `--network host`) share its hostname,
 * yet each has its own PIDs (often 1), so a PID written by one says nothing in another. On Linux
 * a PID means the same process only within one boot of one kernel and one PID namespace: the
 * scope is those two, read from /proc. Where /proc does not tell (macOS), the hostname decides.
 */
import fs from 'node:fs';
import os from 'node:os';

/** What a holder records beside its PID so that others can tell whether they may look it up. */
export interface PidRecord {
  readonly pid: number;
  readonly hostname: string;
  /** {@link pidScope} of the writer; absent where it could not be read, and in older records. */
  readonly pidScope?: string;
}

/**
 * - `this process`: the record is this very process;
 * - `here`: its PID can be looked up here (`kill(pid, 0)` tells whether it runs);
 * - `same hostname, other PIDs`: its hostname is ours but its PIDs are not (another container,
 *   or a record without a scope): whether it runs cannot be told from here;
 * - `elsewhere`: another host.
 */
export type PidPlace = 'this process' | 'here' | 'same hostname, other PIDs' | 'elsewhere';

let scope: string | null | undefined;

/** This process's boot and PID namespace (`<boot id> pid:[<inode>]`), or undefined off Linux. */
export function pidScope(): string | undefined {
  scope ??= readScope();
  return scope ?? undefined;
}

function readScope(): string | null {
  try {
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const namespace = fs.readlinkSync('/proc/self/ns/pid');
    return boot && namespace ? `${boot} ${namespace}` : null;
  } catch {
    return null;
  }
}

/** A record naming this process, to be written where others will judge it. */
export function thisProcessRecord(): PidRecord {
  const mine = pidScope();
  return mine === undefined ? { pid: process.pid, hostname: os.hostname() } : { pid: process.pid, hostname: os.hostname(), pidScope: mine };
}

export function placeOfPid(record: PidRecord): PidPlace {
  const mine = pidScope();
  const sameHost = record.hostname === os.hostname();
  // With a scope on either side, the scopes decide: one without is an older gpupool or another
  // OS, whose PID cannot be trusted here. With none on both (no /proc), the hostname is all there is.
  const samePids = record.pidScope !== undefined || mine !== undefined ? record.pidScope === mine : sameHost;
  if (!samePids) return sameHost ? 'same hostname, other PIDs' : 'elsewhere';
  return record.pid === process.pid ? 'this process' : 'here';
}

/** Whether the record's process is known to be gone: its PID can be looked up here and is free. */
export function isGoneHere(record: PidRecord): boolean {
  if (placeOfPid(record) !== 'here') return false;
  try {
    process.kill(record.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** How a message names the record's process: "PID 12 on gpu-3" and, where it helps, why it cannot be checked. */
export function describePidHolder(record: PidRecord): string {
  const place = placeOfPid(record);
  if (place === 'this process') return `this process (PID ${record.pid})`;
  if (place === 'same hostname, other PIDs') {
    const why = record.pidScope === undefined || pidScope() === undefined ? 'written by another gpupool version, which did not say where its PIDs count' : 'in another PID namespace, such as another container';
    return `PID ${record.pid} on ${record.hostname} (${why})`;
  }
  return `PID ${record.pid} on ${record.hostname}`;
}

/** The holder of a lock, for a refusal: "this process (PID 12): it is already open", or who and since when. */
export function describeLockHolder(record: PidRecord & { readonly since: number }): string {
  const who = describePidHolder(record);
  return placeOfPid(record) === 'this process' ? `${who}: it is already open` : `${who}, since ${new Date(record.since).toISOString()}`;
}
