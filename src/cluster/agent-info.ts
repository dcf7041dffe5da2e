import type { Redis } from 'ioredis';
import type { ClusterKeys } from './cluster-keys.js';

/** An agent's heartbeat: what `gpupool status --redis` shows of it, and what sizes a submitter's window. */
export interface AgentInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** Where `pid` names a process (`store/pid-scope.ts`): tells a container sharing the host's name apart. */
  readonly pidScope?: string;
  readonly version: string;
  readonly state: 'running' | 'draining';
  readonly startedAt: number;
  readonly updatedAt: number;
  /** Models this agent runs, with the items its workers take at once (batch max × in flight). */
  readonly capacity: Record<string, number>;
  readonly devices: readonly AgentDevice[];
  readonly workers: readonly AgentWorker[];
  /** Per job it consumes: chunks it may hold, holds, and items it answered. */
  readonly jobs: Record<string, AgentJobCounts>;
  readonly itemsDone: number;
  readonly itemsFailed: number;
  readonly chunksDone: number;
}

export interface AgentDevice {
  readonly key: string;
  readonly name: string;
  readonly vendor: string;
  readonly memoryUsed: number | null;
  readonly memoryTotal: number;
}

export interface AgentWorker {
  readonly id: string;
  readonly device: string;
  readonly state: string;
  readonly batchLimit: number;
  readonly restarts: number;
}

export interface AgentJobCounts {
  readonly prefetch: number;
  readonly active: number;
  readonly itemsDone: number;
  readonly itemsFailed: number;
  readonly chunksDone: number;
}

/** An agent silent this long is gone (killed): readers drop it. */
export const AGENT_STALE_MS = 10_000;

export async function publishAgent(redis: Redis, keys: ClusterKeys, info: AgentInfo): Promise<void> {
  await redis.multi().zadd(keys.agents, info.updatedAt, info.id).hset(keys.agentInfo, info.id, JSON.stringify(info)).exec();
}

export async function removeAgent(redis: Redis, keys: ClusterKeys, id: string): Promise<void> {
  await redis.multi().zrem(keys.agents, id).hdel(keys.agentInfo, id).exec();
}

/** The entry registered under `id`, or null (none, or another version's). */
export async function readAgent(redis: Redis, keys: ClusterKeys, id: string): Promise<AgentInfo | null> {
  const text = await redis.hget(keys.agentInfo, id);
  if (text === null) return null;
  try {
    return JSON.parse(text) as AgentInfo;
  } catch {
    return null;
  }
}

/** Live agents, by id; entries of agents silent for {@link AGENT_STALE_MS} are deleted on the way. */
export async function listAgents(redis: Redis, keys: ClusterKeys, now = Date.now()): Promise<AgentInfo[]> {
  const stale = await redis.zrangebyscore(keys.agents, '-inf', String(now - AGENT_STALE_MS));
  if (stale.length > 0) await redis.multi().zrem(keys.agents, ...stale).hdel(keys.agentInfo, ...stale).exec();
  const ids = await redis.zrange(keys.agents, 0, '-1');
  if (ids.length === 0) return [];
  const raw = await redis.hmget(keys.agentInfo, ...ids);
  const agents: AgentInfo[] = [];
  for (const text of raw) {
    if (text === null) continue;
    try {
      agents.push(JSON.parse(text) as AgentInfo);
    } catch {
      // another version's entry: not ours to show
    }
  }
  return agents.sort((a, b) => a.id.localeCompare(b.id));
}
