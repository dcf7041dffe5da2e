import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DeviceProvider } from '../devices/device.js';
import { closeDeviceProviders, openDeviceProviders } from '../devices/index.js';
import { registerHttpModels } from '../replicas/index.js';
import { makeFolderFor } from '../store/make-directories.js';
import { AllowedRoots } from './allowed-roots.js';
import { buildApp } from './build-app.js';
import { JobManager } from './job-manager.js';
import { LimitStore } from './limit-store.js';
import { hostPort, listenError } from './listen-error.js';
import { LiveFeed, liveSnapshot } from './live-feed.js';
import { OpenApiCollector } from './openapi.js';
import { ServeCore } from './serve-core.js';
import { ServeMetrics } from './serve-metrics.js';
import { resolveServeOptions, type ServeOptions } from './serve-options.js';

export interface ServeHandle {
  /** `http://host:port`, with the port the OS gave when 0 was asked for. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly core: ServeCore;
  readonly jobs: JobManager;
  /** Resolves when every worker is ready and jobs left by an earlier server are resumed; rejects when a model cannot start. */
  readonly ready: Promise<void>;
  /** Stops taking requests, lets running jobs commit, drains the workers. */
  close(): Promise<void>;
}

/**
 * `gpupool serve`: listens first (so `/healthz` answers and `/readyz` says "starting" while
 * models load), then starts the pool and resumes the jobs an earlier server left.
 */
export async function startServer(input: ServeOptions): Promise<ServeHandle> {
  const options = resolveServeOptions(input);
  const roots = new AllowedRoots(options.allowRoots);
  const httpModels = Object.values(options.config.models).filter((m) => m.kind === 'http');
  // `kind: http` models: the replica proxy of src/replicas, unless the caller brings its own.
  const registerHttp = options.registerHttpModels ?? registerHttpModels;
  makeFolderFor(options.stateDir, 'the server\'s jobs, journals and results (--state-dir)');
  const limits = LimitStore.open(options.stateDir);
  let providers: DeviceProvider[] | undefined;
  let app: FastifyInstance | undefined;
  try {
    providers = options.providers ?? (await openDeviceProviders());
    const core = new ServeCore(options, providers, limits);
    const jobs = new JobManager({
      root: path.join(options.stateDir, 'jobs'),
      roots,
      models: core.models,
      allModels: Object.keys(options.config.models),
      onJobFailed: (job) => core.errors.add(`job ${job.id}`, job.error?.code ?? 'GPUPOOL_E_INTERNAL', job.error?.message ?? 'failed'),
    });
    jobs.recover();
    const metrics = new ServeMetrics(core, jobs);
    core.observer = {
      batch: (model, worker, size, ms, outcome) => metrics.batch(model, worker, size, ms, outcome),
      modelDown: (model, err) => jobs.modelDown(model, err),
    };
    const feed = new LiveFeed();
    const server = buildApp({ options, core, jobs, metrics, feed, openapi: new OpenApiCollector() });
    app = server;
    if (httpModels.length > 0) {
      core.httpModels = registerHttp(server, {
        config: options.config,
        models: httpModels,
        logDir: core.logDir,
        devices: options.devices,
        providers,
        echo: options.echo,
        measuredNeeds: core.measuredNeeds,
        onEvent: (e) => options.onEvent?.(e),
      });
    }
    // Nothing is started yet (workers and replicas start after this): a refusal leaves nothing behind.
    await server.listen({ host: options.host, port: options.port }).catch((err: unknown) => {
      throw listenError(err, options.host, options.port);
    });
    // Devices are read every period while a dashboard watches, every fifth otherwise (an smi
    // tool costs a process per reading where NVML is missing).
    let ticks = 0;
    const ticker = setInterval(() => {
      core.tick();
      const devices = feed.size > 0 || ++ticks % 5 === 0 ? core.monitor.sample() : Promise.resolve();
      void devices.then(() => feed.publish(liveSnapshot(core, jobs)));
    }, options.sampleEveryMs);
    ticker.unref();

    const ready = core.start().then(() => jobs.pump());
    ready.catch(() => undefined); // the caller decides; an unobserved rejection must not kill the process
    const address = server.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${hostPort(options.host, port)}`,
      app: server,
      core,
      jobs,
      ready,
      close: () =>
        (closing ??= (async () => {
          clearInterval(ticker);
          core.phase = 'closing';
          // Jobs first: they commit what is answered and their results streams end, so
          // that closing the listener waits only for in-flight infer requests.
          await jobs.close();
          await server.close();
          core.abortStart();
          await ready.catch(() => undefined);
          await core.close();
          if (!options.providers) await closeDeviceProviders(providers!);
          limits.close();
        })()),
    };
  } catch (err) {
    await app?.close();
    if (providers && !options.providers) await closeDeviceProviders(providers);
    limits.close();
    throw err;
  }
}
