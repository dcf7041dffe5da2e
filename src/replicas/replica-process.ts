import { spawn, type ChildProcess } from 'node:child_process';
import { groupReaper } from './group-reaper.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { GpupoolError } from '../errors/index.js';
import { noteSpawnedOnDevices } from '../devices/index.js';
import { exitMessage, WorkerLog } from '../worker/index.js';
import { probeHealth } from './health-check.js';

export interface ReplicaProcessOptions {
  /** `model/device/replica`, as for protocol workers: `gpupool devices` reads it back. */
  readonly id: string;
  /** argv, argv[0] resolved, `{port}` substituted. */
  readonly command: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where the server was told to listen, and where gpupool reaches it. */
  readonly host: string;
  readonly port: number;
  readonly healthPath: string;
  /** From spawn to the first 2xx of the health path. */
  readonly startTimeoutMs: number;
  readonly logFile: string;
  readonly echo?: NodeJS.WritableStream;
}

/** How a replica's process ended; `requested` when gpupool stopped it. */
export interface ReplicaExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly requested: boolean;
  /** In words, with the end of the server's stderr. */
  readonly message: string;
}

const FIRST_PROBE_EVERY_MS = 50;
const LAST_PROBE_EVERY_MS = 1000;

/**
 * One off-the-shelf server process: spawned in its own process group (servers such as vLLM
 * fork helpers that hold device memory, and the whole group must go with it), its output
 * captured to its log, ready once its health path answers 2xx.
 */
export class ReplicaProcess {
  readonly log: WorkerLog;
  private child?: ChildProcess;
  private exitInfo?: ReplicaExit;
  private exited?: Promise<ReplicaExit>;
  private stopRequested = false;
  private killNote?: string;

  constructor(readonly options: ReplicaProcessOptions) {
    this.log = new WorkerLog(options.logFile, options.echo ? { prefix: `[${options.id}]`, out: options.echo } : undefined);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** Resolves with how the process ended (never rejects). */
  whenExited(): Promise<ReplicaExit> {
    return this.exited ?? Promise.resolve({ code: null, signal: null, requested: true, message: `replica ${this.options.id} never started` });
  }

  /**
   * Spawns the server and resolves once its health path answers 2xx; rejects with
   * GPUPOOL_E_REPLICA_START (process group killed) if it exits first or `startTimeoutMs` passes.
   */
  async start(): Promise<void> {
    const { command, cwd, env, id, host, port, healthPath, startTimeoutMs } = this.options;
    this.log.note(`starting ${JSON.stringify(command)} in ${cwd}, health http://${host}:${port}${healthPath}`);
    const child = spawn(command[0], command.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    if (child.pid !== undefined) groupReaper.watch(child.pid);
    this.log.attach(child.stdout, false);
    this.log.attach(child.stderr, true);
    // Inside a container a driver may name this process by its host PID: learned from this note (devices/host-pids.ts).
    const forget = noteSpawnedOnDevices(child.pid, env.GPUPOOL_DEVICE_UUIDS);
    this.exited = new Promise((resolve) => {
      child.on('exit', forget);
      child.on('error', (err) => {
        this.log.note(`spawn error: ${err.message}`);
        if (child.pid === undefined) resolve(this.onClose(null, null, err.message));
      });
      // Helpers the server forked may outlive it, holding the port, device memory or our
      // stdout pipe (which would hold back 'close'): the group goes with its leader.
      child.on('exit', () => {
        this.signalGroup('SIGKILL');
        if (child.pid !== undefined) groupReaper.unwatch(child.pid);
      });
      child.on('close', (code, signal) => resolve(this.onClose(code, signal)));
    });

    const deadline = performance.now() + startTimeoutMs;
    let every = FIRST_PROBE_EVERY_MS;
    let last = 'not probed yet';
    while (this.alive) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      // Never a probe so short that it times out for want of time rather than of an answer.
      const probe = await probeHealth(host, port, healthPath, Math.min(5000, Math.max(left, 250)));
      if (probe.ok && this.alive) {
        this.log.note(`healthy (pid ${child.pid}, port ${port})`);
        return;
      }
      last = probe.detail;
      await Promise.race([sleep(Math.min(every, Math.max(0, deadline - performance.now()))), this.exited]);
      every = Math.min(LAST_PROBE_EVERY_MS, every * 2);
    }
    const url = `GET http://${host}:${port}${healthPath}`;
    if (this.alive) {
      this.kill(`did not answer ${url} with 2xx within ${startTimeoutMs} ms`);
      await this.exited;
      throw new GpupoolError(
        'GPUPOOL_E_REPLICA_START',
        `replica ${id} did not answer ${url} with 2xx within ${startTimeoutMs} ms (start_timeout; last probe: ${last}); it was killed. Log: ${this.options.logFile}`,
      );
    }
    const exit = await this.whenExited();
    throw new GpupoolError('GPUPOOL_E_REPLICA_START', `replica ${id} ended before ${url} answered 2xx: ${exit.message}. Log: ${this.options.logFile}`);
  }

  /** SIGKILLs the whole process group now; `note` says why, in the log and the exit message. */
  kill(note = 'killed by gpupool'): void {
    this.killNote ??= note;
    this.signalGroup('SIGKILL');
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (!this.alive) return;
    this.stopRequested = true;
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Synchronous, for process exit: no replica outlives gpupool. */
  killNow(): void {
    this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is gone already
    }
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null, spawnError?: string): ReplicaExit {
    if (this.exitInfo) return this.exitInfo; // 'error' and 'close' both report a failed spawn
    const how = spawnError ? `could not be started (${spawnError})` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const tail = this.log.stderrTail();
    const message = exitMessage([this.killNote, `replica ${this.options.id} ${how}`], tail);
    this.log.note(`closed: ${how}`);
    this.log.close();
    this.exitInfo = { code, signal, requested: this.stopRequested, message };
    return this.exitInfo;
  }
}
