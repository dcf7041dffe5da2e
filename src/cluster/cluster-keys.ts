/**
 * Every Redis key gpupool's cluster mode uses, under one prefix (`--prefix`, default
 * `gpupool`). A job's chunks are a BullMQ queue of its own, `chunks-<job>`, whose keys
 * BullMQ names `<prefix>:chunks-<job>:…`, and its suspect items another, `chunks-<job>-solo`;
 * the rest are gpupool's:
 *
 *   <prefix>:meta                   queue schema marker {schema, createdBy, createdAt}
 *   <prefix>:jobs                   hash job id → job record (JSON)
 *   <prefix>:agents                 sorted set agent id → last heartbeat (ms)
 *   <prefix>:agent-info             hash agent id → what it runs, its devices, its counts (JSON)
 *   <prefix>:agent-name:<id>        a default agent name's claim, for 10 s (who took it, JSON)
 *   <prefix>:jobs-changed           pub/sub channel: a job was registered (agents look at once)
 *   <prefix>:job:<id>:results       stream of chunk results, deleted once journaled
 *   <prefix>:job:<id>:progress      hash: the submitter's counts, for status
 *   <prefix>:job:<id>:submitter     the live submitter's lease
 *   <prefix>:job:<id>:journal:*     the journal, with --journal redis
 */

/** Bumped when the layout above or the chunk and result formats change incompatibly. */
export const CLUSTER_SCHEMA = 1;

/** Job ids and prefixes: safe in keys, queue names and file names. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export class ClusterKeys {
  constructor(readonly prefix: string) {}

  get meta(): string {
    return `${this.prefix}:meta`;
  }

  get jobs(): string {
    return `${this.prefix}:jobs`;
  }

  get agents(): string {
    return `${this.prefix}:agents`;
  }

  get agentInfo(): string {
    return `${this.prefix}:agent-info`;
  }

  /** A default agent name's short claim: of two agents choosing at once, one gets it (agent-name.ts). */
  agentNameClaim(id: string): string {
    return `${this.prefix}:agent-name:${id}`;
  }

  /** Pub/sub channel: a submitter publishes a job's id when it registers it, so agents take it up at once. */
  get jobsChannel(): string {
    return `${this.prefix}:jobs-changed`;
  }

  /** The BullMQ queue name (not a key) of a job's chunks. */
  queueName(job: string): string {
    return `chunks-${job}`;
  }

  /**
   * The queue of a job's suspects: one-item chunks lost with their agent. An agent runs one
   * only with nothing else in hand, so that if it dies again the item is the one to blame.
   */
  soloQueueName(job: string): string {
    return `chunks-${job}-solo`;
  }

  results(job: string): string {
    return `${this.prefix}:job:${job}:results`;
  }

  progress(job: string): string {
    return `${this.prefix}:job:${job}:progress`;
  }

  submitter(job: string): string {
    return `${this.prefix}:job:${job}:submitter`;
  }

  journal(job: string): string {
    return `${this.prefix}:job:${job}:journal`;
  }
}
