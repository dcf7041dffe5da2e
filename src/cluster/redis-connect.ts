import { Redis } from 'ioredis';
import { GpupoolError } from '../errors/index.js';
import { maskRedisUrl } from './redis-url.js';

export interface RedisConnectOptions {
  /** Shown by `CLIENT LIST`: which gpupool process this is. */
  readonly name: string;
  /** Told once when the connection drops (Redis restarting…) and once when it is back. */
  readonly onConnectionChange?: (up: boolean, detail: string) => void;
}

/** Redis error replies that mean the credentials are wrong, not that Redis is away. */
const AUTH_REPLIES = ['WRONGPASS', 'NOAUTH', 'NOPERM'];

/**
 * Connects to `url` once, or throws a clear error naming the URL (password masked):
 * GPUPOOL_E_REDIS_AUTH for a wrong or missing password, GPUPOOL_E_REDIS_UNREACHABLE for
 * anything else. Once connected, a dropped connection is retried for ever and commands wait
 * for it (`maxRetriesPerRequest: null`): a Redis restart is a pause, not an error.
 */
export async function connectRedis(url: string, options: RedisConnectOptions): Promise<Redis> {
  const masked = maskRedisUrl(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectionName: options.name,
    // Back off to 2 s between tries: a restarting Redis is found again within 2 s of its return.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let lastError: Error | undefined;
  const onStartError = (err: Error): void => {
    lastError = err;
  };
  redis.on('error', onStartError);
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw connectError(masked, lastError ?? (err as Error));
  } finally {
    redis.off('error', onStartError);
  }
  await checkDatabase(redis, masked);
  watchConnection(redis, options.onConnectionChange);
  return redis;
}

/**
 * The database the URL names (`/1`) must exist: ioredis reports a refused SELECT only as an
 * event and goes on in database 0, among the jobs and agents kept apart from it on purpose.
 */
async function checkDatabase(redis: Redis, masked: string): Promise<void> {
  const db = redis.options.db ?? 0;
  if (db === 0) return;
  try {
    await redis.select(db);
  } catch (err) {
    redis.disconnect();
    const count = await countDatabases(redis).catch(() => undefined);
    throw new GpupoolError('GPUPOOL_E_USAGE', `Redis at ${masked} has no database ${db}${count === undefined ? '' : ` (it has ${count}: 0 to ${count - 1})`}: ${(err as Error).message}`);
  }
}

async function countDatabases(redis: Redis): Promise<number | undefined> {
  const probe = redis.duplicate({ db: 0, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    const reply = (await probe.config('GET', 'databases')) as string[];
    return Number(reply[1]) || undefined;
  } finally {
    probe.disconnect();
  }
}

/**
 * A second connection for blocking reads (XREAD BLOCK), with the same URL and options. Its
 * `disconnect()` drops the socket at once: ioredis otherwise waits up to its `disconnectTimeout`
 * (2 s) for a graceful close that a read blocked in Redis does not give, and a submitter with
 * nothing left to do took 2.5 s to exit.
 */
export function duplicateRedis(redis: Redis, name: string, onConnectionChange?: RedisConnectOptions['onConnectionChange']): Redis {
  const dup = redis.duplicate({ connectionName: name, disconnectTimeout: 0 });
  watchConnection(dup, onConnectionChange);
  return dup;
}

function watchConnection(redis: Redis, onChange: RedisConnectOptions['onConnectionChange']): void {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    onChange?.(false, err.message);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    onChange?.(true, 'reconnected');
  });
}

export function connectError(maskedUrl: string, err: Error): GpupoolError {
  const reply = err.message.split(' ')[0];
  if (AUTH_REPLIES.includes(reply)) {
    const why = reply === 'NOAUTH' ? 'it requires a password and the URL gives none' : 'it refused the password in the URL';
    return new GpupoolError('GPUPOOL_E_REDIS_AUTH', `Redis at ${maskedUrl} did not let gpupool in: ${why} (${reply})`, { cause: err });
  }
  const code = (err as NodeJS.ErrnoException).code;
  return new GpupoolError('GPUPOOL_E_REDIS_UNREACHABLE', `cannot reach Redis at ${maskedUrl}: ${code ? `${code}, ` : ''}${err.message}`, { cause: err });
}

/** Renames a connection now and after each reconnect (ioredis names it again from its options). */
export async function nameConnection(redis: Redis, name: string): Promise<void> {
  redis.options.connectionName = name;
  await redis.client('SETNAME', name);
}
