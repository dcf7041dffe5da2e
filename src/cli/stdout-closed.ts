/**
 * A reader that stops reading our stdout (`gpupool devices --watch | head`) is the end of that
 * output, not an error: Node threw EPIPE with a stack. After it, writes to stdout go nowhere and
 * {@link stdoutClosed} is aborted, for a command whose only work is its output (the watch loop)
 * to end; a server or a run goes on and ends as it would have.
 */
const closed = new AbortController();

export const stdoutClosed: AbortSignal = closed.signal;

/** Installs the handler (once, from the CLI's entry point). Any other stdout error still throws. */
export function watchStdoutClosed(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed.abort();
  });
}
