/**
 * The name an agent registers under. The default, `<hostname>-<pid>`, is not unique where
 * containers share their machine's hostname (Kubernetes `hostNetwork`, Docker `--network host`)
 * and each runs its agent as PID 1. Two live agents under one name show as one in `status`, and
 * submitters size their window by one's capacity, so a default name that a live agent in another
 * PID namespace holds gets a suffix. A name given with `--name` is kept: a restarted agent takes
 * its own name back at once, and a clash is reported.
 */
import os from 'node:os';
import type { Redis } from 'ioredis';
import { isGoneHere, pidScope, placeOfPid, thisProcessRecord, type PidRecord } from '../store/index.js';
import { AGENT_STALE_MS, publishAgent, readAgent, type AgentInfo } from './agent-info.js';
import type { ClusterKeys } from './cluster-keys.js';
import { gpupoolVersion } from './cluster-schema.js';

/** The most suffixes tried before a default name is taken anyway (it only labels the agent). */
const MAX_SUFFIX = 64;

/**
 * `me` is the process the name is for (this one; a test stands in for agents in other
 * containers): a default name is `<its hostname>-<its pid>`, and the short claim on it records it.
 */
export async function chooseAgentName(redis: Redis, keys: ClusterKeys, given: string | undefined, log: (line: string) => void, me: PidRecord = thisProcessRecord()): Promise<string> {
  if (given !== undefined) {
    const holder = await liveHolder(redis, keys, given);
    if (holder) {
      log(
        `another agent named ${given} (PID ${holder.pid} on ${holder.host}) was heard from ${ago(holder)}; ` +
          'if it still runs, give each agent its own --name: under one name, status shows one of them and submitters count one capacity',
      );
    }
    return given;
  }
  const base = `${me.hostname}-${me.pid}`;
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (!(await liveHolder(redis, keys, name)) && (await claimName(redis, keys, name, me))) return name;
  }
  return base;
}

/**
 * How long a default name's claim holds with nothing else: the agent publishes its entry right
 * after choosing, and from then on the entry is what others see (renewed every 2 s).
 */
const NAME_CLAIM_MS = AGENT_STALE_MS;

/**
 * Takes `name` for `me` with SET NX, so that of two agents that found it free in the same
 * moment (two containers started together) only one gets it. A claim already `me`'s, or left by
 * a process gone from this PID namespace, is taken.
 */
async function claimName(redis: Redis, keys: ClusterKeys, name: string, me: PidRecord): Promise<boolean> {
  const key = keys.agentNameClaim(name);
  const value = JSON.stringify(me);
  if ((await redis.set(key, value, 'PX', NAME_CLAIM_MS, 'NX')) === 'OK') return true;
  const held = await redis.get(key);
  if (held === null) return (await redis.set(key, value, 'PX', NAME_CLAIM_MS, 'NX')) === 'OK';
  if (held !== value && !isGoneHere(parseClaim(held))) return false;
  // Ours already, or its claimant was killed: taken only if the claim is still the one read (it may
  // have expired since, and another agent's taken its place). Two processes of one namespace
  // never share a default name (their PIDs differ), so a killed claimant's is not contended here.
  return (await redis.eval(REPLACE_IF_SAME, 1, key, held, value, NAME_CLAIM_MS)) === 1;
}

/** KEYS[1] the claim; ARGV: the value read, ours, the expiry (ms). Sets ours only over the value read. */
const REPLACE_IF_SAME = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0`;

/** KEYS[1] the claim; ARGV[1] ours. Deletes it only while it is ours. */
const DELETE_IF_SAME = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Gives the name's claim back (an agent that stops, or fails to start): a container restarted at
 * once, in a PID namespace of its own, cannot tell that the claim's process is gone, and would
 * otherwise take the next suffix for up to 10 s, and drift in a crash loop.
 */
export async function releaseAgentName(redis: Redis, keys: ClusterKeys, name: string, me: PidRecord = thisProcessRecord()): Promise<void> {
  await redis.eval(DELETE_IF_SAME, 1, keys.agentNameClaim(name), JSON.stringify(me));
}

function parseClaim(text: string): PidRecord {
  try {
    const record = JSON.parse(text) as Partial<PidRecord>;
    if (typeof record.pid === 'number' && typeof record.hostname === 'string') return { pid: record.pid, hostname: record.hostname, pidScope: record.pidScope };
  } catch {
    // not ours: held by whoever wrote it
  }
  return { pid: 0, hostname: '', pidScope: 'unreadable' };
}

/** The agent registered under `name` that may still run, or null (none, silent too long, or gone from here). */
async function liveHolder(redis: Redis, keys: ClusterKeys, name: string): Promise<AgentInfo | null> {
  const info = await readAgent(redis, keys, name);
  if (info === null || info.updatedAt < Date.now() - AGENT_STALE_MS) return null;
  const record = { pid: info.pid, hostname: info.host, pidScope: info.pidScope };
  // This very process (an agent started twice in one process) or a killed predecessor in this PID namespace.
  if (placeOfPid(record) === 'this process' || isGoneHere(record)) return null;
  return info;
}

/** How often the claim is renewed while the models load: well within {@link AGENT_STALE_MS}. */
const CLAIM_RENEW_MS = 2000;

/**
 * Chooses the name and registers it at once, with nothing loaded yet (no devices, no capacity),
 * renewed until `stop()` (the agent's first heartbeat replaces it), so that an agent starting
 * while this one loads its models (which can take minutes) sees the name taken; two choosing in
 * the same moment are told apart by the name's claim (SET NX).
 */
export async function claimAgentName(redis: Redis, keys: ClusterKeys, given: string | undefined, log: (line: string) => void): Promise<{ id: string; stop: () => void }> {
  const id = await chooseAgentName(redis, keys, given, log);
  const startedAt = Date.now();
  const claim = (): Promise<void> =>
    publishAgent(redis, keys, {
      id,
      host: os.hostname(),
      pid: process.pid,
      pidScope: pidScope(),
      version: gpupoolVersion(),
      state: 'running',
      startedAt,
      updatedAt: Date.now(),
      capacity: {},
      devices: [],
      workers: [],
      jobs: {},
      itemsDone: 0,
      itemsFailed: 0,
      chunksDone: 0,
    });
  try {
    await claim();
  } catch (err) {
    await releaseAgentName(redis, keys, id).catch(() => undefined);
    throw err;
  }
  const timer = setInterval(() => void claim().catch(() => undefined), CLAIM_RENEW_MS);
  timer.unref();
  return { id, stop: () => clearInterval(timer) };
}

function ago(info: AgentInfo): string {
  return `${Math.max(0, Math.round((Date.now() - info.updatedAt) / 1000))} s ago`;
}
