// Holds or tries a RedisLease from the built gpupool (dist/), for pid-namespace-check.sh.
//   node lease-probe.mjs hold KEY   takes the key, prints {"held":…} and keeps it until killed
//   node lease-probe.mjs try KEY    tries to take it, prints {"took":…} or {"refused":message}
import { Redis } from 'ioredis';
import { RedisLease } from '../../dist/store/index.js';

const [mode, key] = process.argv.slice(2);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
try {
  const lease = await RedisLease.acquire(redis, key, { what: `the key ${key}`, ttlMs: 30_000 });
  if (mode === 'hold') {
    console.log(JSON.stringify({ held: JSON.parse(lease.value) }));
    setInterval(() => undefined, 1 << 30);
  } else {
    console.log(JSON.stringify({ took: JSON.parse(lease.value), from: lease.previousOwner }));
    await lease.release();
    redis.disconnect();
  }
} catch (err) {
  console.log(JSON.stringify({ refused: err.message }));
  redis.disconnect();
}
