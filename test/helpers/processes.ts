import fs from 'node:fs';
import { after } from 'node:test';

/**
 * PIDs pushed here are SIGKILLed when the test file ends, so a failed test leaves no process
 * behind; but only a process that is still the one pushed (same start time). PIDs are reused,
 * and with Linux's default of 32768 a suite that starts thousands of processes can hand the PID
 * of one that ended long ago to a process of another test file running beside this one.
 */
export function killAtEnd(): number[] {
  const pids: number[] = [];
  const startedAt = new Map<number, string | undefined>();
  const push = pids.push.bind(pids);
  pids.push = (...added: number[]) => {
    for (const pid of added) startedAt.set(pid, startTime(pid));
    return push(...added);
  };
  after(() => {
    for (const pid of pids) {
      const started = startedAt.get(pid);
      if (started === undefined || startTime(pid) !== started) continue; // gone, or the PID is another's now
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  return pids;
}

/** Whether a process with this PID exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The PIDs whose parent is `pid`, read from /proc (no `ps`: slim images lack procps). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === pid) children.push(Number(entry));
  }
  return children;
}

/** When the process started (clock ticks since boot), or undefined when there is none. */
function startTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/**
 * The fields of /proc/PID/stat after the command name, from the state on (ppid is [1], the start
 * time [19]), or undefined when the process is gone. The name may hold spaces and parentheses,
 * so the fields are read after its last ')'.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
