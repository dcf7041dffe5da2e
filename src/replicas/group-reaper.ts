import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * A `sh` that outlives gpupool by design: it reads process groups to watch (`+PGID`, `-PGID`)
 * from a pipe, and when the pipe closes (gpupool exited, however: kill -9 included, where no
 * exit handler runs) it SIGKILLs every group still watched. Signals that reach it from a
 * terminal or a supervisor (INT, TERM, HUP) are ignored: only the pipe's end counts. In its own
 * process group, so a Ctrl-C to gpupool's does not reach it either.
 */
const SCRIPT = `trap '' INT TERM HUP
groups=""
while IFS= read -r line; do
  case "$line" in
    +*) groups="$groups \${line#+}" ;;
    -*) kept=""; for g in $groups; do [ "$g" = "\${line#-}" ] || kept="$kept $g"; done; groups=$kept ;;
  esac
done
for g in $groups; do kill -9 -$g 2>/dev/null; done`;

/**
 * Off-the-shelf servers (`kind: http`) run in process groups of their own, and a server keeps
 * running when gpupool dies by SIGKILL (workers of the protocol see their channel close and exit;
 * an HTTP server has no such channel): the reaper takes them down then, so none holds its card
 * and port for ever. Started at the first watch, one per gpupool process.
 */
class GroupReaper {
  #child: ChildProcess | undefined;

  watch(pgid: number): void {
    this.#send(`+${pgid}\n`);
  }

  /** Once the group is gone: its number may be another's later. */
  unwatch(pgid: number): void {
    if (this.#child !== undefined) this.#send(`-${pgid}\n`);
  }

  #send(line: string): void {
    const child = this.#started();
    if (child.stdin?.writable) child.stdin.write(line);
  }

  #started(): ChildProcess {
    if (this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null) return this.#child;
    const child = spawn('/bin/sh', ['-c', SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    // Never what keeps gpupool alive: the pipe's end at exit is the reaper's signal.
    child.unref();
    (child.stdin as Socket | null)?.unref();
    // Without a shell there is no reaper: the exit handlers still stop the servers on a clean exit.
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    this.#child = child;
    return child;
  }
}

export const groupReaper = new GroupReaper();
