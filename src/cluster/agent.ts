import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { pickModel } from '../config/index.js';
import { GpupoolError } from '../errors/index.js';
import { MeasuredNeedStore, Pool } from '../pool/index.js';
import { makeFolderFor } from '../store/make-directories.js';
import { pidScope } from '../store/index.js';
import { publishAgent, removeAgent, type AgentInfo, type AgentJobCounts } from './agent-info.js';
import { claimAgentName, releaseAgentName } from './agent-name.js';
import type { AgentOptions } from './agent-options.js';
import { forgetQueue } from './chunk-queue.js';
import { chunkSink } from './chunk-run.js';
import { listJobs, type ClusterJob } from './cluster-job.js';
import { ClusterKeys } from './cluster-keys.js';
import { checkName } from './cluster-name.js';
import { checkQueueSchema, gpupoolVersion } from './cluster-schema.js';
import { JobConsumer } from './job-consumer.js';
import { connectRedis, nameConnection } from './redis-connect.js';
import { maskRedisUrl, parseRedisUrl } from './redis-url.js';

/**
 * `gpupool agent`: the local pool (this machine's devices, the config's models) consuming
 * the chunks of every job in Redis whose model it runs. A job registered while it runs is
 * taken up within `pollMs`; `drain()` finishes the chunks in hand and stops.
 */
export class Agent {
  readonly id: string;
  readonly #options: AgentOptions;
  readonly #keys: ClusterKeys;
  readonly #redis: Redis;
  readonly #pool: Pool;
  readonly #consumers = new Map<string, JobConsumer>();
  readonly #finished = new Map<string, AgentJobCounts>();
  readonly #ignored = new Set<string>();
  readonly #startedAt = Date.now();
  #state: 'running' | 'draining' = 'running';
  #pollTimer?: NodeJS.Timeout;
  #beatTimer?: NodeJS.Timeout;
  #stopped?: Promise<void>;
  #solo?: Promise<void>;
  #polling?: Promise<void>;
  #subscriber?: Redis;
  #gone = false;

  private constructor(options: AgentOptions, id: string, keys: ClusterKeys, redis: Redis, pool: Pool) {
    this.#options = options;
    this.id = id;
    this.#keys = keys;
    this.#redis = redis;
    this.#pool = pool;
  }

  static async start(options: AgentOptions): Promise<Agent> {
    const url = parseRedisUrl(options.redisUrl);
    const keys = new ClusterKeys(checkName(options.prefix ?? 'gpupool', '--prefix'));
    // It names the agent's Redis connection and, by default, its log folder.
    if (options.name !== undefined) checkName(options.name, '--name');
    const models = options.models ?? Object.values(options.config.models).filter((m) => m.kind === 'process').map((m) => m.name);
    for (const m of models) pickModel(options.config, m);
    if (models.length === 0) throw new GpupoolError('GPUPOOL_E_USAGE', 'the config has no `kind: process` model for an agent to run');
    const log = options.log ?? (() => undefined);
    if (options.logDir) makeFolderFor(options.logDir, "the workers' logs (--log-dir)");
    // Redis first: a wrong URL is reported before any worker loads a model.
    const redis = await connectRedis(url, {
      name: 'gpupool-agent',
      onConnectionChange: (up, detail) => log(up ? `Redis at ${maskRedisUrl(url)} is back` : `lost Redis at ${maskRedisUrl(url)} (${detail}); reconnecting`),
    });
    let pool: Pool | undefined;
    let id: string;
    let claim: { id: string; stop: () => void } | undefined;
    try {
      await checkQueueSchema(redis, keys, maskRedisUrl(url), true);
      claim = await claimAgentName(redis, keys, options.name, log);
      id = claim.id;
      await nameConnection(redis, `gpupool-agent:${id}`);
      const logDir = options.logDir ?? path.join(os.tmpdir(), `gpupool-agent-${id}`);
      if (!options.logDir) makeFolderFor(logDir, "the workers' logs (in the temporary folder; --log-dir puts them elsewhere)");
      pool = await Pool.start({
        config: options.config,
        models,
        devices: options.devices,
        logDir,
        echo: options.echo,
        sinkFor: () => chunkSink,
        providers: options.providers,
        onEvent: options.onEvent,
        onStray: options.onStray,
        measuredNeeds: MeasuredNeedStore.fromEnv(),
        startSignal: options.startSignal,
      });
    } catch (err) {
      claim?.stop();
      if (claim) await removeAgent(redis, keys, claim.id).catch(() => undefined);
      if (claim) await releaseAgentName(redis, keys, claim.id).catch(() => undefined);
      redis.disconnect();
      throw err;
    }
    const agent = new Agent(options, id, keys, redis, pool);
    claim.stop();
    await agent.#heartbeat();
    await agent.#listen();
    agent.#pollSoon();
    await agent.#polling;
    return agent;
  }

  get state(): 'running' | 'draining' {
    return this.#state;
  }

  /** Resolves with the error that made every worker of a model give up (crash loop). */
  onFatal(): Promise<GpupoolError> {
    return this.#pool.onFatal();
  }

  /** Stops taking chunks, finishes those in hand (their results are sent), then stops. Idempotent. */
  drain(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#state = 'draining';
      clearTimeout(this.#pollTimer);
      await this.#heartbeat();
      await this.#solo?.catch(() => undefined);
      await Promise.all([...this.#consumers.values()].map((c) => c.close()));
      await this.#pool.close();
      await this.#leave();
    })();
    return this.#stopped;
  }

  /** Stops now: workers are killed; chunks in hand go to other agents once their locks expire. */
  async destroy(): Promise<void> {
    this.#state = 'draining';
    clearTimeout(this.#pollTimer);
    await this.#pool.destroy();
    await Promise.all([...this.#consumers.values()].map((c) => c.destroy()));
    await this.#leave();
  }

  /** A submitter publishes a job it registers: take it up now, not at the next poll. */
  async #listen(): Promise<void> {
    const sub = this.#redis.duplicate();
    sub.on('error', () => undefined); // the main connection reports outages
    sub.on('message', () => this.#pollSoon());
    await sub.subscribe(this.#keys.jobsChannel);
    this.#subscriber = sub;
  }

  async #leave(): Promise<void> {
    this.#gone = true;
    this.#subscriber?.disconnect();
    clearTimeout(this.#beatTimer);
    await removeAgent(this.#redis, this.#keys, this.id).catch(() => undefined);
    await releaseAgentName(this.#redis, this.#keys, this.id).catch(() => undefined);
    this.#redis.disconnect();
  }

  /** Takes up new jobs of our models and lets go of jobs that are gone (finished or removed). */
  /** Reads the job list now (a job was registered) or when the poll timer fires, never twice at once. */
  #pollSoon(): void {
    clearTimeout(this.#pollTimer);
    this.#polling ??= this.#poll().finally(() => (this.#polling = undefined));
  }

  async #poll(): Promise<void> {
    if (this.#state !== 'running') return;
    try {
      const { jobs, unreadable } = await listJobs(this.#redis, this.#keys);
      for (const id of unreadable) this.#ignoreOnce(id, `job ${id} in Redis was written by another gpupool version; leaving it alone`);
      const live = new Set(jobs.map((j) => j.id));
      for (const job of jobs) if (!this.#consumers.has(job.id) && this.#state === 'running') this.#consume(job);
      for (const [id, consumer] of this.#consumers) {
        if (live.has(id)) continue;
        this.#consumers.delete(id);
        this.#finished.set(id, consumer.counts());
        void consumer
          .close()
          .then(() => forgetQueue(this.#redis, this.#keys, id, this.#keys.queueName(id)))
          .then(() => forgetQueue(this.#redis, this.#keys, id, this.#keys.soloQueueName(id)))
          .catch(() => undefined);
      }
      this.#solo ??= this.#soloTurn().finally(() => (this.#solo = undefined));
    } catch (err) {
      this.#options.log?.(`reading the job list: ${(err as Error).message}`);
    }
    if (this.#state === 'running') this.#pollTimer = setTimeout(() => this.#pollSoon(), this.#options.pollMs ?? 1000);
  }

  /**
   * Runs the suspect chunks waiting for any job we consume, each with every consumer paused:
   * the agent holds that one item alone, so if it dies again the item is to blame, not a
   * neighbour that happened to be in hand.
   */
  async #soloTurn(): Promise<void> {
    for (const consumer of this.#consumers.values()) {
      while (this.#state === 'running' && (await consumer.soloWaiting())) {
        const all = [...this.#consumers.values()];
        await Promise.all(all.map((c) => c.pause()));
        try {
          if (!(await consumer.runSolo())) break;
        } finally {
          for (const c of all) c.resume();
        }
      }
    }
  }

  #consume(job: ClusterJob): void {
    const scheduler = this.#pool.schedulers.get(job.model);
    if (!scheduler) {
      this.#ignoreOnce(job.id, `job ${job.id} runs model "${job.model}", which this agent does not run`);
      return;
    }
    const capacity = this.#capacity(job.model);
    const prefetch = this.#options.prefetch ?? Math.max(2, Math.ceil((2 * capacity) / job.chunkSize));
    this.#consumers.set(
      job.id,
      new JobConsumer({ job, keys: this.#keys, redis: this.#redis, agentId: this.id, scheduler, prefetch, log: (l) => this.#options.log?.(l) }),
    );
    this.#options.log?.(`taking chunks of job ${job.id} (model ${job.model}, ${job.chunkSize} items per chunk, ${prefetch} at a time)`);
  }

  #ignoreOnce(id: string, why: string): void {
    if (this.#ignored.has(id)) return;
    this.#ignored.add(id);
    this.#options.log?.(why);
  }

  #capacity(model: string): number {
    return this.#pool.workers.filter((w) => w.model === model).reduce((n, w) => n + w.limit.max * w.maxInflight, 0);
  }

  async #heartbeat(): Promise<void> {
    clearTimeout(this.#beatTimer);
    try {
      await publishAgent(this.#redis, this.#keys, this.info());
    } catch (err) {
      this.#options.log?.(`heartbeat: ${(err as Error).message}`);
    }
    if (!this.#gone) {
      this.#beatTimer = setTimeout(() => void this.#heartbeat(), this.#options.heartbeatMs ?? 2000);
      this.#beatTimer.unref();
    }
  }

  info(): AgentInfo {
    const jobs: Record<string, AgentJobCounts> = {};
    for (const [id, c] of this.#consumers) jobs[id] = c.counts();
    const all = [...Object.values(jobs), ...this.#finished.values()];
    const capacity: Record<string, number> = {};
    for (const model of this.#pool.schedulers.keys()) capacity[model] = this.#capacity(model);
    return {
      id: this.id,
      host: os.hostname(),
      pid: process.pid,
      pidScope: pidScope(),
      version: gpupoolVersion(),
      state: this.#state,
      startedAt: this.#startedAt,
      updatedAt: Date.now(),
      capacity,
      devices: [...this.#pool.devices.values()].map((u) => ({
        key: u.device.key,
        name: u.device.name,
        vendor: u.device.vendor,
        memoryUsed: u.sample?.memoryUsed ?? null,
        memoryTotal: u.device.memoryTotal,
      })),
      workers: this.#pool.workers.map((w) => ({ id: w.id, device: w.deviceKey, state: w.supervisor.state, batchLimit: w.limit.value, restarts: w.supervisor.restarts })),
      jobs,
      itemsDone: all.reduce((n, c) => n + c.itemsDone, 0),
      itemsFailed: all.reduce((n, c) => n + c.itemsFailed, 0),
      chunksDone: all.reduce((n, c) => n + c.chunksDone, 0),
    };
  }
}
