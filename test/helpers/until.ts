/**
 * Polls `check` every 10 ms until it returns something other than undefined, null or false, and
 * returns that; fails naming `what` after `ms`. For a test that needs a state to be reached: a fixed sleep stands in for it
 * only on a machine as fast and as idle as the one the test was written on.
 */
export async function until<T>(what: string, check: () => T | undefined | null | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
