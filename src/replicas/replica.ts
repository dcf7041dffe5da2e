import type { HttpConfig } from '../config/index.js';
import type { Device } from '../devices/device.js';
import { RestartScheduler, type RestartPolicy } from '../worker/index.js';
import { assertPortFree, pickFreePort } from './free-port.js';
import { probeHealth } from './health-check.js';
import { ReplicaProcess, type ReplicaExit } from './replica-process.js';

/** starting → ready ⇄ unhealthy → restarting → starting …; `given-up` after a crash loop; `stopped` once closed. */
export type ReplicaState = 'starting' | 'ready' | 'unhealthy' | 'restarting' | 'stopped' | 'given-up';

export interface ReplicaOptions {
  /** `model/device/replica`, e.g. `llm/cuda:1/0`. */
  readonly id: string;
  readonly model: string;
  /** Position among the set's replicas: the port is `http.port_base + index` where a base is set. */
  readonly index: number;
  /** `cuda:1`, or `cuda:1+2` for a server spanning two cards. */
  readonly deviceKey: string;
  readonly devices: readonly Device[];
  readonly http: HttpConfig;
  readonly restart: RestartPolicy;
  readonly startTimeoutMs: number;
  readonly host: string;
  readonly cwd: string;
  readonly logFile: string;
  readonly echo?: NodeJS.WritableStream;
  /** The argv and environment for a given port. */
  readonly launch: (port: number) => { command: string[]; env: NodeJS.ProcessEnv };
}

export interface ReplicaHandlers {
  ready(replica: Replica, restart: boolean): void;
  /** The process died or was killed as unhealthy; a restart is scheduled. */
  lost(replica: Replica, message: string): void;
  gaveUp(replica: Replica, reason: string): void;
}

/** What `/v1/workers` shows of a replica. */
export interface ReplicaInfo {
  readonly id: string;
  readonly model: string;
  readonly kind: 'http';
  readonly deviceKey: string;
  readonly devices: readonly string[];
  readonly state: ReplicaState;
  readonly pid?: number;
  readonly port?: number;
  readonly restarts: number;
  /** Requests proxied to it and not yet answered. */
  readonly outstanding: number;
  /** Requests it has answered (any status). */
  readonly served: number;
  /** Health checks failed in a row. */
  readonly failedHealthChecks: number;
  readonly lastExit?: string;
  readonly logFile: string;
}

/**
 * One supervised replica of an off-the-shelf server: (re)started on its devices with a port
 * of its own, health-checked while it runs (a server that stops answering is taken out of
 * the rotation, then killed and restarted: a live process is not a working one), restarted
 * with the same backoff and crash-loop guard as protocol workers.
 */
export class Replica {
  /** Proxied requests waiting on this replica: the balancer picks the replica with fewest. */
  outstanding = 0;
  served = 0;
  port?: number;
  lastExit?: string;
  private process?: ReplicaProcess;
  private readonly restarter: RestartScheduler;
  private running = false;
  private closing = false;
  private failedChecks = 0;
  private healthTimer?: NodeJS.Timeout;
  private checking = false;

  constructor(
    readonly options: ReplicaOptions,
    private readonly handlers: ReplicaHandlers,
  ) {
    this.restarter = new RestartScheduler(options.restart, {
      restart: () => this.spawn(),
      failed: (err) => {
        this.lastExit = err.message;
      },
      gaveUp: (failures, err) => this.handlers.gaveUp(this, `replica ${this.id} died ${failures} times in a row before healthy: ${err.message}`),
    });
  }

  get id(): string {
    return this.options.id;
  }

  get pid(): number | undefined {
    return this.process?.alive ? this.process.pid : undefined;
  }

  get restarts(): number {
    return this.restarter.restarts;
  }

  get state(): ReplicaState {
    if (this.restarter.givenUp) return 'given-up';
    if (this.closing) return 'stopped';
    if (this.restarter.pending) return 'restarting';
    if (!this.running) return 'starting';
    return this.failedChecks > 0 ? 'unhealthy' : 'ready';
  }

  /** In the rotation: running and its last health check passed. */
  get acceptsRequests(): boolean {
    return this.running && this.failedChecks === 0 && !this.closing;
  }

  /** The first start: a failure is the caller's to report (bad command, wrong health path). */
  start(): Promise<void> {
    return this.spawn();
  }

  /** The proxy could not reach it: check now rather than at the next period. */
  suspect(): void {
    if (this.running) void this.checkHealth();
  }

  /** SIGTERM, then SIGKILL after `graceMs`; no restart. */
  async stop(graceMs: number): Promise<void> {
    this.closing = true;
    this.restarter.stop();
    clearTimeout(this.healthTimer);
    await this.process?.stop(graceMs);
  }

  /** SIGKILL now; no restart. */
  async destroy(): Promise<void> {
    this.closing = true;
    this.restarter.stop();
    clearTimeout(this.healthTimer);
    this.process?.kill('stopped by gpupool');
    await this.process?.whenExited();
  }

  /** For process exit: synchronous. */
  killNow(): void {
    this.process?.killNow();
  }

  describe(): ReplicaInfo {
    return {
      id: this.id,
      model: this.options.model,
      kind: 'http',
      deviceKey: this.options.deviceKey,
      devices: this.options.devices.map((d) => d.key),
      state: this.state,
      ...(this.pid !== undefined ? { pid: this.pid } : {}),
      ...(this.port !== undefined ? { port: this.port } : {}),
      restarts: this.restarts,
      outstanding: this.outstanding,
      served: this.served,
      failedHealthChecks: this.failedChecks,
      ...(this.lastExit ? { lastExit: this.lastExit } : {}),
      logFile: this.options.logFile,
    };
  }

  private async spawn(): Promise<void> {
    const { http, host, index } = this.options;
    // A fresh port each start: the old one may linger in TIME_WAIT or be held by a straggler.
    const port = http.port_base !== undefined ? http.port_base + index : await pickFreePort(host);
    if (http.port_base !== undefined) await assertPortFree(host, port, this.id);
    const { command, env } = this.options.launch(port);
    const proc = new ReplicaProcess({
      id: this.id,
      command,
      cwd: this.options.cwd,
      env,
      host,
      port,
      healthPath: http.health,
      startTimeoutMs: this.options.startTimeoutMs,
      logFile: this.options.logFile,
      echo: this.options.echo,
    });
    this.process = proc;
    this.port = port;
    this.failedChecks = 0;
    await proc.start();
    if (this.closing) return;
    this.running = true;
    void proc.whenExited().then((exit) => this.onExit(proc, exit));
    this.scheduleHealthCheck();
    this.handlers.ready(this, this.restarts > 0);
  }

  private onExit(proc: ReplicaProcess, exit: ReplicaExit): void {
    if (proc !== this.process) return;
    this.running = false;
    clearTimeout(this.healthTimer);
    this.lastExit = exit.message;
    if (this.closing) return;
    this.handlers.lost(this, exit.message);
    this.restarter.schedule();
  }

  private scheduleHealthCheck(): void {
    clearTimeout(this.healthTimer);
    this.healthTimer = setTimeout(() => void this.checkHealth(), this.options.http.health_every);
    this.healthTimer.unref();
  }

  private async checkHealth(): Promise<void> {
    const proc = this.process;
    if (this.checking || !proc || !this.running) return;
    this.checking = true;
    const { health, health_every, unhealthy_after } = this.options.http;
    // A check slower than its period counts as failed, within sane bounds for a loaded server.
    const timeout = Math.min(10_000, Math.max(1000, health_every));
    const result = await probeHealth(this.options.host, this.port!, health, timeout);
    this.checking = false;
    if (proc !== this.process || !this.running || this.closing) return;
    if (result.ok) {
      if (this.failedChecks > 0) proc.log.note(`healthy again after ${this.failedChecks} failed health check(s)`);
      this.failedChecks = 0;
    } else {
      this.failedChecks++;
      proc.log.note(`health check ${this.failedChecks}/${unhealthy_after} failed: ${result.detail}`);
      if (this.failedChecks >= unhealthy_after) {
        proc.kill(`failed ${this.failedChecks} health checks in a row (last: ${result.detail}), killed`);
        return;
      }
    }
    this.scheduleHealthCheck();
  }
}
