import http from 'node:http';

/** What one health probe saw: `ok` for a 2xx answer, otherwise why not, in words for the log. */
export interface HealthResult {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * One `GET` of a replica's health path on a fresh connection (never a pooled one: a probe
 * must not ride a socket a request is waiting on, nor keep one open). Never rejects.
 */
export function probeHealth(host: string, port: number, path: string, timeoutMs: number): Promise<HealthResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: HealthResult): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve(result);
    };
    const req = http.get({ host, port, path, agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done({ ok: status >= 200 && status < 300, detail: `answered ${status}` });
    });
    req.on('timeout', () => done({ ok: false, detail: `no answer within ${timeoutMs} ms` }));
    req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, detail: err.code ?? err.message }));
  });
}
