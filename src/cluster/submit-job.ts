import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { pickModel } from '../config/index.js';
import { GpupoolError } from '../errors/index.js';
import { checkOutput, InputDigestKeeper, jobIdentity, JsonlSink, onAbort, openingOutput, openSource, outputWriteError, resolveOutput } from '../run/index.js';
import { classifyWriteError, openJournal, openRedisJournal, reconcileOutput, RedisLease, stateDirFor, type JobIdentity, type JobStore } from '../store/index.js';
import type { ChunkData, ChunkItem } from './chunk-format.js';
import { ChunkIds } from './chunk-ids.js';
import { ChunkQueue } from './chunk-queue.js';
import { SUBMITTER_HOST_META } from './job-input-check.js';
import { ChunkRescuer } from './chunk-rescuer.js';
import { readJob, registerJob, unregisterJob, type ClusterJob } from './cluster-job.js';
import { CLUSTER_SCHEMA, ClusterKeys } from './cluster-keys.js';
import { checkName } from './cluster-name.js';
import { checkQueueSchema } from './cluster-schema.js';
import { chooseGeneration, GENERATION_META } from './job-generation.js';
import { refuseAnotherJob } from './job-name-taken.js';
import { OpenChunks } from './open-chunks.js';
import { connectRedis, duplicateRedis } from './redis-connect.js';
import { maskRedisUrl, parseRedisUrl } from './redis-url.js';
import { ResultReader } from './result-reader.js';
import { ResultWriter, SubmitTally } from './result-writer.js';
import { SubmitMonitor } from './submit-monitor.js';
import type { SubmitOptions, SubmitSummary } from './submit-options.js';

export const DEFAULT_CHUNK_SIZE = 256;
export const DEFAULT_LOCK_DURATION_MS = 30_000;

/**
 * `gpupool submit`: streams the input into chunks on a BullMQ queue of its own, keeps at most
 * a window of chunks out (Redis holds that much, whatever the input's size), and writes the
 * results the agents send back into OUTPUT with the journal and resume of `gpupool run`.
 * Killed and run again, it reads the results left in Redis first, then goes on: every item
 * ends up in the output exactly once.
 */
export async function submitJob(options: SubmitOptions): Promise<SubmitSummary> {
  const log = options.log ?? (() => undefined);
  const url = parseRedisUrl(options.redisUrl);
  const masked = maskRedisUrl(url);
  const keys = new ClusterKeys(checkName(options.prefix ?? 'gpupool', '--prefix'));
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const lockDurationMs = options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS;
  const model = pickModel(options.config, options.model);
  const output = resolveOutput(options.output);
  const stateDir = options.journal === 'redis' ? undefined : (options.stateDir ?? stateDirFor(output));
  const source = await openSource(options.input, options.costField ?? model.cost_field, { skip: stateDir === undefined ? [output] : [output, stateDir] });
  let identity: JobIdentity;
  let jobId: string;
  let redis: Redis;
  try {
    checkOutput(output, options.input, stateDir === undefined ? undefined : { dir: stateDir, given: options.stateDir !== undefined });
    identity = jobIdentity(options.config, model, source, output);
    jobId = checkName(options.jobName ?? `${model.name}-${createHash('sha256').update(`${identity.key ?? identity.fingerprint}\0${output}`).digest('hex').slice(0, 12)}`, '--job');
    redis = await connectRedis(url, {
      name: `gpupool-submit:${jobId}`,
      onConnectionChange: (up, detail) => log(up ? `Redis at ${masked} is back` : `lost Redis at ${masked} (${detail}); reconnecting`),
    });
  } catch (err) {
    source.close?.(); // a folder's listing
    throw err;
  }
  const closers: (() => Promise<unknown> | unknown)[] = [() => source.close?.(), () => redis.quit().catch(() => redis.disconnect())];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
  };
  try {
    await checkQueueSchema(redis, keys, masked, true);
    const hardStop = new AbortController();
    let fatal: unknown;
    const failWith = (err: unknown): void => {
      fatal ??= err;
      hardStop.abort();
    };
    const lease = await RedisLease.acquire(redis, keys.submitter(jobId), {
      what: `job ${jobId} at ${masked}`,
      onLost: (holder) => failWith(new GpupoolError('GPUPOOL_E_JOURNAL_LOCKED', `job ${jobId} at ${masked} was taken over by ${holder ? `PID ${holder.pid} on ${holder.hostname}` : 'another submitter'}`)),
    });
    closers.push(() => lease.release());
    // Before anything is deleted or written: another job's chunks and results are not for this output.
    const registered = await readJob(redis, keys, jobId);
    if (!options.fresh) refuseAnotherJob(registered, jobId, identity.description, `${masked} under prefix "${keys.prefix}"`);
    const journal: JobStore =
      options.journal === 'redis'
        ? await openRedisJournal({ redis, key: keys.journal(jobId), identity, fresh: options.fresh, where: `${masked} key ${keys.journal(jobId)}` })
        : openJournal({ stateDir: stateDir ?? stateDirFor(output), identity, fresh: options.fresh });
    closers.push(() => journal.close());
    const queue = new ChunkQueue(redis, keys, jobId);
    const solo = new ChunkQueue(redis, keys, jobId, { solo: true });
    closers.push(() => queue.close(), () => solo.close());
    const obliterate = async (): Promise<void> => {
      await queue.obliterate();
      await solo.obliterate();
    };
    const { generation, carriedOn } = await chooseGeneration(registered === 'unreadable' ? undefined : registered, journal, options.fresh ?? false);
    if (!carriedOn) {
      // What Redis holds of the job is of another generation, which this journal did not take results under.
      if (registered !== undefined && !options.fresh) {
        log(`job ${jobId}'s chunks and results in Redis were sent by a submit whose journal is not this one (made anew, or by an older gpupool): they are deleted, and their items run again`);
      }
      await obliterate();
      await redis.del(keys.results(jobId), keys.progress(jobId));
      await journal.setMeta(GENERATION_META, generation);
    }
    const chunkIds = new ChunkIds(generation);

    // A finished job leaves no record but its Redis journal: `status --redis` finds its input on this host by it.
    if (options.journal === 'redis') await journal.setMeta(SUBMITTER_HOST_META, os.hostname());
    const resume = await journal.resume();
    const digests = await InputDigestKeeper.open(source, journal, resume.counts);
    reconcileOutput(output, resume.outputBytes);
    const resumed = resume.done.clone();
    for (const seq of resume.failed) resumed.add(seq);
    const written = resumed.clone();
    const tally = new SubmitTally();
    // The sink's errors are the output's (Redis errors, which also carry system codes, are not).
    const sink = openingOutput(output, () => new JsonlSink({ path: output, startBytes: resume.outputBytes, commit: async (group) => {
      // The digest of what was read so far: it covers every line of the group.
      await digests.coverRead();
      await journal.commit(group);
    }, onError: (err) => failWith(outputWriteError(err, output)) }));
    closers.push(() => sink.close());
    const writer = new ResultWriter(sink, written, tally);
    const open = new OpenChunks();
    hardStop.signal.addEventListener('abort', () => open.wake(true));

    const record: ClusterJob = {
      id: jobId,
      model: model.name,
      schema: CLUSTER_SCHEMA,
      chunkSize,
      lockDurationMs,
      journal: options.journal ?? 'sqlite',
      ...(stateDir === undefined ? {} : { stateDir: path.resolve(stateDir) }),
      description: identity.description,
      submitter: { host: os.hostname(), pid: process.pid },
      createdAt: Date.now(),
      generation,
    };
    await registerJob(redis, keys, record);
    // Once registered: before, an agent letting go of the job's last run could delete the queue's
    // meta hash (forgetQueue) between the cap and the registration, and the cap with it.
    await queue.capEvents();
    await solo.capEvents();
    await redis.publish(keys.jobsChannel, jobId);
    /** A Redis restarted without its data forgot the job: register it again, so agents come back to it. */
    const stillRegistered = async (): Promise<void> => {
      if ((await redis.hsetnx(keys.jobs, jobId, JSON.stringify(record))) === 0) return;
      log(`job ${jobId} was no longer registered at ${masked} (Redis restarted without its data?); registered it again`);
      await checkQueueSchema(redis, keys, masked, true);
      await queue.capEvents();
      await solo.capEvents();
      await redis.publish(keys.jobsChannel, jobId);
    };
    // Chunks a killed submitter left out: their items are not read again while they are.
    for (const c of [...(await queue.listOpen()), ...(await solo.listOpen())]) {
      const seqs = c.data.items.map(([seq]) => seq).filter((seq) => !written.has(seq));
      if (seqs.length > 0) open.add(c.id, seqs);
    }
    const addChunk = async (id: string, data: ChunkData): Promise<void> => {
      open.add(id, data.items.map(([seq]) => seq));
      await queue.add(id, data);
    };

    const blocking = duplicateRedis(redis, `gpupool-submit-results:${jobId}`);
    closers.push(() => blocking.disconnect());
    const reader = new ResultReader({
      blocking,
      redis,
      key: keys.results(jobId),
      log,
      onResults: async (results) => {
        for (const r of results) {
          // Of a chunk an agent held from before --fresh (or before the job was replaced): another input's items.
          if (!chunkIds.ofGeneration(r.chunk)) {
            tally.stale += r.done.length + r.failed.length;
            continue;
          }
          writer.chunk(r);
          open.close(r.chunk);
        }
        await writer.flush();
        if (fatal) throw fatal;
      },
    });
    reader.start();
    void reader.done.catch(failWith);
    const rescuer = new ChunkRescuer({ queue, solo, open, writer, log, everyMs: Math.min(5000, Math.max(250, Math.floor(lockDurationMs / 2))) });
    rescuer.start();
    const monitor = new SubmitMonitor({
      redis,
      keys,
      jobId,
      model: model.name,
      chunkSize,
      maxChunks: options.maxChunks,
      tally,
      open,
      source,
      splits: () => rescuer.splits,
      mode: options.progress ?? (((options.progressOut ?? process.stderr) as NodeJS.WriteStream).isTTY ? 'tty' : 'plain'),
      out: options.progressOut ?? process.stderr,
      onTick: stillRegistered,
    });
    await monitor.start();
    closers.push(() => monitor.stop());

    const drain = new AbortController();
    // Said here, not by the CLI's signal handler: only the submitter knows whether an agent is there to answer.
    const leftInRedis = 'they stay in Redis, and the same command resumes';
    let drainAnswered = false;
    onAbort(options.drainSignal, () => {
      drain.abort();
      open.stopWaitingForRoom();
      drainAnswered = monitor.agents > 0;
      log(
        drainAnswered
          ? 'draining (chunks out are answered and written); press Ctrl-C again to stop at once'
          : `stopping: no live agent runs model "${model.name}" to answer the ${open.size} chunks out; ${leftInRedis}`,
      );
    });
    onAbort(options.killSignal, () => failWith(new GpupoolError('GPUPOOL_E_INTERRUPTED', 'stopped at once by a second interrupt; run the same command again to resume')));
    const stopped = (): boolean => drain.signal.aborted || hardStop.signal.aborted;

    /** One pass over the input: every item neither written nor out goes out in chunks. */
    const readPass = async (first: boolean): Promise<void> => {
      let pending: ChunkItem[] = [];
      const send = async (): Promise<void> => {
        await open.room(() => monitor.window);
        if (stopped()) return;
        // A chunk in Redis outlives this submitter (the next one takes it over): the journal's
        // digest must cover its lines before it goes, as before a commit.
        await digests.coverRead();
        await addChunk(chunkIds.next(), { items: pending });
        pending = [];
      };
      // A read chunk at a time, like `gpupool run`: one await per chunk, not per record.
      for await (const batch of source.recordBatches()) {
        for (const rec of batch) {
          if (stopped()) return;
          tally.read = Math.max(tally.read, rec.seq + 1);
          if (first) tally.inputs++; // a later pass reads the input again for lost chunks
          if (written.has(rec.seq) || open.holds(rec.seq)) {
            if (first && resumed.has(rec.seq)) {
              tally.resumed++;
              if (resume.failed.has(rec.seq)) tally.resumedFailed++;
            }
            continue;
          }
          if ('parseError' in rec) writer.failure(rec.seq, rec.id, 'GPUPOOL_E_INPUT_PARSE', rec.parseError);
          else pending.push([rec.seq, rec.id, rec.json, rec.cost]);
          if (pending.length >= chunkSize) await send();
        }
      }
      if (pending.length > 0 && !stopped()) await send();
      await digests.afterRead();
    };

    // A drain waits for the chunks out to be answered, unless no live agent runs the model: then
    // nothing would ever answer them, and they stay in Redis, as after a second Ctrl-C, for the
    // same command to resume.
    const answerable = (): Promise<void> =>
      new Promise((resolve) => {
        const check = setInterval(() => {
          if (drain.signal.aborted && monitor.agents === 0) {
            clearInterval(check);
            if (drainAnswered && open.size > 0) log(`no live agent is left to answer the ${open.size} chunks out: stopping; ${leftInRedis}`);
            resolve();
          }
        }, 200);
        void open.empty().then(() => {
          clearInterval(check);
          resolve();
        });
      });

    let lostHandled = 0;
    for (let first = true; ; first = false) {
      await readPass(first);
      if (stopped() && !drain.signal.aborted) break;
      await answerable();
      // Chunks Redis lost (restarted without its data) are read again from the input.
      if (stopped() || rescuer.lost === lostHandled) break;
      lostHandled = rescuer.lost;
    }

    await reader.stop();
    await rescuer.stop();
    await monitor.stop();
    await sink.flush().catch(failWith);
    if (fatal) throw fatal instanceof GpupoolError ? fatal : classifyWriteError(fatal, output);
    const complete = !drain.signal.aborted;
    if (complete) {
      await journal.markFinished(tally.inputs);
      await obliterate();
      await redis.del(keys.results(jobId), keys.progress(jobId));
      await unregisterJob(redis, keys, jobId);
    }
    const wall = tally.elapsedSeconds;
    const summary: SubmitSummary = {
      job: jobId,
      model: model.name,
      done: tally.done,
      failed: tally.failed,
      resumed: tally.resumed,
      resumedFailed: tally.resumedFailed,
      duplicates: tally.duplicates,
      stale: tally.stale,
      wallSeconds: wall,
      itemsPerSecond: (tally.done + tally.failed) / Math.max(1e-3, wall),
      splits: rescuer.splits,
      devices: Object.fromEntries(tally.perDevice),
      outcome: complete ? 'complete' : 'interrupted',
      ...(complete && source.heldBack && { heldBack: source.heldBack }),
    };
    monitor.summary(summary);
    return summary;
  } finally {
    await closeAll();
  }
}
