import type { ProcessFacts, Stray } from './audit-types.js';
import { readStat } from './read-process-facts.js';

export interface KillOutcome {
  /** PIDs sent SIGKILL. */
  readonly killed: number[];
  /** PIDs left alone, with why: gone already, PID reused, or the kill refused. */
  readonly spared: { pid: number; reason: string }[];
}

/**
 * Kills the processes of a stray with SIGKILL: its memory on the device is freed only when
 * it exits, and a process on a card it must not touch has nothing to finish. Each PID is
 * checked first against the start time the audit saw, so a PID the kernel has since given
 * to another process is never killed. A worker killed this way is restarted by its
 * supervisor, and its in-flight items are retried.
 */
export async function killStray(stray: Stray, facts: readonly ProcessFacts[], procRoot = '/proc'): Promise<KillOutcome> {
  const startTimes = new Map(facts.map((f) => [f.pid, f.startTime]));
  const killed: number[] = [];
  const spared: { pid: number; reason: string }[] = [];
  for (const pid of stray.pids) {
    const seen = startTimes.get(pid);
    const now = await readStat(procRoot, pid);
    if (!now) {
      spared.push({ pid, reason: 'already gone' });
      continue;
    }
    if (seen === undefined || now.startTime !== seen) {
      spared.push({ pid, reason: seen === undefined ? 'not recognised when seen' : 'PID now belongs to another process' });
      continue;
    }
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch (err) {
      spared.push({ pid, reason: (err as NodeJS.ErrnoException).code ?? String(err) });
    }
  }
  return { killed, spared };
}
