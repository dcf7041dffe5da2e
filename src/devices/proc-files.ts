import { readFile } from 'node:fs/promises';

/** The environment a process started with (NUL-separated), or undefined if unreadable. */
export async function readEnviron(procRoot: string, pid: number): Promise<Map<string, string> | undefined> {
  let raw: Buffer;
  try {
    raw = await readFile(`${procRoot}/${pid}/environ`);
  } catch {
    return undefined; // gone, another user's, or another PID namespace
  }
  const env = new Map<string, string>();
  for (const entry of raw.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/**
 * The fields of `/proc/<pid>/stat` after the command name, from `state` on (so `[1]` is the
 * parent PID, `[19]` the start time), or undefined if unreadable. The command name may hold
 * spaces and parentheses: it ends at the last ")".
 */
export async function readStatFields(procRoot: string, pid: number): Promise<string[] | undefined> {
  let stat: string;
  try {
    stat = await readFile(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The parent PID from `/proc/<pid>/stat`. */
export async function readParentPid(procRoot: string, pid: number): Promise<number | undefined> {
  const fields = await readStatFields(procRoot, pid);
  const ppid = Number(fields?.[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}
