import { GpupoolError } from '../errors/index.js';

/** The URL with its password replaced by `***`, for every message and log line. */
export function maskRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    // Not a URL at all: hide anything between "://" and "@", which is where a password sits.
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Checks `--redis`: `redis://[[user]:password@]host[:port][/db]` or `rediss://` for TLS. */
export function parseRedisUrl(url: string, flag = '--redis'): string {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '') {
    throw new GpupoolError(
      'GPUPOOL_E_USAGE',
      `${flag} must be a URL like redis://host:6379, redis://:PASSWORD@host:6379/0 or rediss://host:6380 (TLS), got "${maskRedisUrl(url)}"`,
    );
  }
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) {
    throw new GpupoolError('GPUPOOL_E_USAGE', `${flag}: the database in the URL's path must be a number (redis://host:6379/0), got "/${db}" in "${maskRedisUrl(url)}"`);
  }
  return url;
}
