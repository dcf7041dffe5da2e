import { after } from 'node:test';

/** PIDs pushed here are SIGKILLed when the test file ends, so a failed test leaves no process behind. */
export function killAtEnd(): number[] {
  const pids: number[] = [];
  after(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  return pids;
}
