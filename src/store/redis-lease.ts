/**
 * One live holder of a Redis key, the Redis counterpart of `journal-lock.ts`: a key holding
 * `{token, pid, hostname, pidScope, since}` with a TTL that its holder keeps renewing. A holder
 * that dies stops renewing and the key expires; a holder found dead where its PID can be looked
 * up (the same boot and PID namespace: {@link placeOfPid}) is taken over at once, so a killed
 * process restarted on its machine does not wait. A holder in another container with the same
 * hostname is waited for: its PID says nothing here.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { GpupoolError } from '../errors/index.js';
import type { JournalOwner } from './job-journal.js';
import { describeLockHolder, isGoneHere, thisProcessRecord, type PidRecord } from './pid-scope.js';

/** Renews when the key is still ours; takes it again when it is gone (Redis restarted without it). */
const RENEW = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

/** Replaces the value only if it is still `ARGV[1]` (the dead holder's). */
const TAKE_OVER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface RedisLeaseOptions {
  /** What is held, for messages: "the journal at redis://…/ key x". */
  readonly what: string;
  /**
   * How long the key outlives a holder that stopped renewing (killed on another host).
   * @defaultValue 15000
   */
  readonly ttlMs?: number;
  /** Called once if another process took the key (this one stalled longer than the TTL). */
  readonly onLost?: (holder: JournalOwner | null) => void;
}

interface LeaseValue extends JournalOwner, PidRecord {
  readonly token: string;
}

export class RedisLease {
  readonly value: string;
  /** The holder this lease was taken over from (dead on this host), or null. */
  readonly previousOwner: JournalOwner | null;
  #timer?: NodeJS.Timeout;
  #released = false;

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    value: string,
    previousOwner: JournalOwner | null,
    private readonly ttlMs: number,
    private readonly onLost?: (holder: JournalOwner | null) => void,
  ) {
    this.value = value;
    this.previousOwner = previousOwner;
    this.#timer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(ttlMs / 3)));
    this.#timer.unref();
  }

  /** Takes the key or throws GPUPOOL_E_JOURNAL_LOCKED naming the live holder. */
  static async acquire(redis: Redis, key: string, options: RedisLeaseOptions): Promise<RedisLease> {
    const ttlMs = options.ttlMs ?? 15_000;
    const me: LeaseValue = { token: randomUUID(), ...thisProcessRecord(), since: Date.now() };
    const value = JSON.stringify(me);
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK') return new RedisLease(redis, key, value, null, ttlMs, options.onLost);
      const held = await redis.get(key);
      if (held === null) continue; // expired in between
      const holder = parseHolder(held);
      if (holder && isGoneHere(holder)) {
        if ((await redis.eval(TAKE_OVER, 1, key, held, value, ttlMs)) === 1) {
          return new RedisLease(redis, key, value, ownerOf(holder), ttlMs, options.onLost);
        }
        continue;
      }
      throw lockedError(options.what, holder, await redis.pttl(key));
    }
    throw lockedError(options.what, null, await redis.pttl(key));
  }

  /**
   * The key's current holder, or null when nobody holds it, or when it is a process of this host
   * that is gone (killed: its key has not expired yet, but the next `acquire` takes it at once).
   */
  static async holder(redis: Redis, key: string): Promise<JournalOwner | null> {
    const held = await redis.get(key);
    const holder = held === null ? null : parseHolder(held);
    return holder && !isGoneHere(holder) ? ownerOf(holder) : null;
  }

  /** Whether this lease still holds the key (a fencing check before a write is done in Lua). */
  get released(): boolean {
    return this.#released;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    try {
      await this.redis.eval(RELEASE, 1, this.key, this.value);
    } catch {
      // The key expires by itself.
    }
  }

  async #renew(): Promise<void> {
    if (this.#released) return;
    let ok: unknown;
    try {
      ok = await this.redis.eval(RENEW, 1, this.key, this.value, this.ttlMs);
    } catch {
      return; // Redis away: ioredis reconnects; the next renewal tries again
    }
    if (ok === 0 && !this.#released) {
      this.#released = true;
      clearInterval(this.#timer);
      this.onLost?.(await RedisLease.holder(this.redis, this.key).catch(() => null));
    }
  }
}

function parseHolder(raw: string): LeaseValue | null {
  try {
    const v = JSON.parse(raw) as Partial<LeaseValue>;
    if (typeof v.pid !== 'number' || typeof v.hostname !== 'string' || typeof v.since !== 'number' || typeof v.token !== 'string') return null;
    if (v.pidScope !== undefined && typeof v.pidScope !== 'string') return null;
    return v as LeaseValue;
  } catch {
    return null;
  }
}

function ownerOf(v: LeaseValue): JournalOwner {
  return { pid: v.pid, hostname: v.hostname, since: v.since };
}

function lockedError(what: string, holder: LeaseValue | null, pttl: number): GpupoolError {
  const who = holder === null ? 'another process' : describeLockHolder(holder);
  const expiry = pttl > 0 ? `; if that process is gone, its hold expires in ${Math.ceil(pttl / 1000)} s` : '';
  return new GpupoolError('GPUPOOL_E_JOURNAL_LOCKED', `${what} is in use by ${who}${expiry}: wait for it to finish or stop it, then run again`, {
    details: { what, owner: holder && ownerOf(holder) },
  });
}
