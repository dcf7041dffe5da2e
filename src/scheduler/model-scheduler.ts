import type { BatchConfig } from '../config/index.js';
import type { ErrorCode } from '../errors/index.js';
import { OutputStrings, outputTextList, type FailureKind, type ItemErrorBody, type OutputTexts } from '../protocol/index.js';
import type { Batch, DispatchTarget } from './dispatch-target.js';
import type { AdaptiveBatchLimit, LimitMark } from './adaptive-batch-limit.js';
import { BatchMemoryWatch } from './batch-memory-watch.js';
import { DeviceHolds } from './device-holds.js';
import { bytesOverAFrame, fitsOneFrame, ITEMS_ROOM_BYTES } from './frame-budget.js';
import { HeadHold } from './head-hold.js';
import { ItemQueue } from './item-queue.js';
import { OomTrail } from './oom-trail.js';
import { splitSpan, unpackSpan, unpackSpans } from './span-items.js';
import { itemErrorFailure, type ItemFailure, type ItemSink, type WorkItem } from './work-item.js';

export interface ModelSchedulerOptions {
  readonly model: string;
  readonly batch: BatchConfig;
  /** Failed batches an item may be in before it is isolated. */
  readonly maxAttempts: number;
  readonly sink: ItemSink;
  /** Whether the device behind a target has free memory above its reserve (growth allowed). */
  readonly roomToGrow?: (target: DispatchTarget) => boolean;
  /** Called after every answered batch, for metrics. */
  readonly onBatch?: (target: DispatchTarget, size: number, ms: number, outcome: 'ok' | FailureKind | 'lost') => void;
  /**
   * A target's limit changed outside any batch of its own (taken back up by
   * {@link AdaptiveBatchLimit.forgive} once an item was found to be the cause of an
   * out-of-memory): for whoever remembers limits.
   */
  readonly onLimitChangedBeside?: (target: DispatchTarget) => void;
}

/**
 * Batcher and dispatcher of one model. Pull-based: a target with a free slot takes the next
 * batch, so a faster device comes back sooner and takes more. Failed batches are retried
 * smaller (bisection on error, halving on out-of-memory) so one bad item cannot sink its
 * neighbours; an item in `maxAttempts` failed batches is retried alone, then failed.
 */
export class ModelScheduler {
  private readonly queue = new ItemQueue<WorkItem>();
  /** Inputs in `queue`: its items plus what its spans carry beyond one each. */
  private queuedInputs = 0;
  /** Never holds a span: a span is unpacked before it is retried. */
  private readonly retries = new ItemQueue<WorkItem>();
  private readonly targets: DispatchTarget[] = [];
  private rr = 0;
  private timer?: NodeJS.Timeout;
  private waitingSince = 0;
  private inputEnded = false;
  private inflightItems = 0;
  private idleWaiters: (() => void)[] = [];
  /** For an item whose batches ran out of memory: its trail on each target (oom-trail.ts). */
  private readonly oomTrails = new WeakMap<WorkItem, OomTrail>();
  /** Whether any item has run out of memory yet: until then a batch answered is not looked at for {@link fitted} or {@link releaseAfterHeavy}. */
  private trailsMade = false;
  /** Items taken for a device whose other workers are still giving back their memory: in flight, not yet sent (one input each: retries hold no span). */
  private readonly awaitingDevice = new Set<WorkItem>();
  /** The targets draining for the item first in line, when it must run alone. */
  private headHold?: HeadHold;
  /** What each target's batches take of device memory, for those whose worker says (`batch_memory`). */
  private readonly memoryWatches = new Map<DispatchTarget, BatchMemoryWatch>();
  /** Which targets take nothing new for their device's memory (an item alone, a device whole, a release). */
  private readonly holds = new DeviceHolds(this.targets, () => this.pump());

  constructor(private readonly options: ModelSchedulerOptions) {}

  get model(): string {
    return this.options.model;
  }

  /** Items queued, being retried or in flight. */
  get pending(): number {
    return this.queuedInputs + this.retries.length + this.inflightItems + this.awaitingDevice.size;
  }

  get queued(): number {
    return this.queuedInputs + this.retries.length;
  }

  get inflight(): number {
    return this.inflightItems + this.awaitingDevice.size;
  }

  /**
   * Targets with a device in common must share one limit (one object): they share its memory,
   * and a size one learns is the others' too. Apart, the first to grow its batches took the card
   * and left the other at 1 or 2.
   */
  addTarget(target: DispatchTarget): void {
    const apart = this.holds.sharing(target).find((t) => t.limit !== target.limit);
    if (apart !== undefined) throw new Error(`targets ${apart.id} and ${target.id} share a device but not a batch limit: give the workers of a model on one device one AdaptiveBatchLimit`);
    this.targets.push(target);
    this.headHold = undefined; // a new target may share the device held
    this.pump();
  }

  removeTarget(target: DispatchTarget): void {
    const i = this.targets.indexOf(target);
    if (i >= 0) this.targets.splice(i, 1);
    this.memoryWatches.delete(target);
  }

  push(item: WorkItem): void {
    if (!fitsOneFrame(item.json.length)) {
      // Items of tens of MiB: a span of them goes in one by one (a batch takes what a frame can carry).
      if (item.count > 1) return unpackSpan(item).forEach((one) => this.push(one));
      const bytes = bytesOverAFrame(item);
      if (bytes !== undefined) return this.refuseTooLarge(item, bytes);
    }
    if (this.queue.length === 0) this.waitingSince = performance.now();
    this.queue.push(item);
    this.queuedInputs += item.count;
    // Only try to dispatch once a full batch may be ready; partial batches wait for the timer.
    if (this.queuedInputs >= this.options.batch.max || this.retries.length > 0) this.pump();
    else this.armTimer();
  }

  /** An input no batch frame can carry fails alone, at once: sent, it would break the protocol. */
  private refuseTooLarge(item: WorkItem, bytes: number): void {
    const message = `input of ${bytes} bytes of JSON is over the ${ITEMS_ROOM_BYTES} bytes a batch frame can carry (docs/protocol.md §2): give the worker a path to the data instead`;
    this.options.sink.failed(item, { code: 'GPUPOOL_E_INPUT_TOO_LARGE', message }, undefined);
  }

  /** No more input is coming: partial batches go out at once. */
  endInput(): void {
    this.inputEnded = true;
    this.pump();
    this.checkIdle();
  }

  /** Resolves when input has ended and every item has been answered. */
  whenIdle(): Promise<void> {
    if (this.inputEnded && this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Items not yet dispatched, removed from the queue (for a run that stops early). With none in
   * flight and the input ended, that is idle: a run drained while its worker restarted (its
   * batch back in the queue, nothing out) waited for ever on {@link whenIdle}. An item waiting
   * for its device (the other workers giving back their memory) has not started either: it is
   * taken too, and not sent when the device is ready.
   */
  takeQueued(): WorkItem[] {
    this.queuedInputs = 0;
    const taken = [...this.awaitingDevice, ...this.retries.drain(), ...this.queue.drain()];
    this.awaitingDevice.clear();
    this.checkIdle();
    return taken;
  }

  /** Dispatch to every target with a free slot. */
  pump(force = false): void {
    const n = this.targets.length;
    if (n === 0) return;
    for (let k = 0; k < n && this.queued > 0; k++) {
      const target = this.targets[(this.rr + k) % n];
      while (this.queued > 0 && target.acceptsWork() && target.inflightCount < target.maxInflight && this.holds.takesWork(target)) {
        const head = this.retries.peek();
        // An item that must run alone: the targets held for it wait, the others take what is behind it.
        const behind = head !== undefined && (head.isolated || head.needsDevice);
        if (behind && this.waitsFor(head, target)) {
          this.sendAlone(target, head);
          break;
        }
        // Whole: a worker's max_batch is not checked to be an integer, and a span is cut at this count.
        const limit = Math.max(1, Math.floor(Math.min(target.limit.value, target.maxBatch ?? Infinity)));
        // A partial batch waits for more input until batch.timeout. The clock is read only here: a
        // pump for a full batch (one per item pushed while the queue is full) needs no time.
        const ready = behind ? this.retries.at(1) : head;
        if ((ready === undefined || ready.isolated || ready.needsDevice) && this.queuedInputs < limit && !this.inputEnded && !force && !this.timedOut()) {
          this.armTimer();
          // The targets held for the item first in line may come later in this round.
          if (behind) break;
          return;
        }
        const items = behind ? this.takeBehindHead(limit) : this.take(limit);
        if (items.length === 0 || !this.send(target, items)) break;
      }
    }
    this.rr = (this.rr + 1) % n;
    if (this.queued === 0) this.waitingSince = 0;
  }

  /**
   * Whether `target` is to wait for `head`, which must run alone: it is one of the targets
   * held for it ({@link HeadHold}), or none could be chosen (no target, or no device with all
   * its targets, both taking work and not running an item alone), when all wait as before.
   */
  private waitsFor(head: WorkItem, target: DispatchTarget): boolean {
    if (this.headHold === undefined || !this.headHold.stillFor(head, this.targets)) {
      const candidates = this.targets.filter((t) => t.acceptsWork() && !this.holds.isExclusive(t));
      this.headHold = HeadHold.choose(head, candidates, (t) => this.holds.sharing(t));
    }
    return this.headHold === undefined || this.headHold.holds(target);
  }

  /** Sends `head`, first in line, alone to `target` once `target` (and, if it needs the device whole, the targets beside it) is idle. */
  private sendAlone(target: DispatchTarget, head: WorkItem): void {
    if (head.needsDevice) return this.sendWithDevice(target);
    if (target.inflightCount > 0) return;
    this.holds.claimAlone(target);
    if (!this.send(target, [this.retries.shift()!])) this.holds.endExclusive(target);
  }

  /** A batch from what is behind the item first in line, which stays there. */
  private takeBehindHead(limit: number): WorkItem[] {
    const head = this.retries.shift()!;
    const items = this.take(limit);
    this.retries.unshiftAll([head]);
    return items;
  }

  /**
   * A batch answered with parsed outputs (the classic `result` message). `batchMemory`: the
   * device memory it took at its peak, in bytes, when the worker says (`batch_memory`).
   */
  onResult(batch: Batch, outputs: unknown[], errors: Record<string, ItemErrorBody> | undefined, batchMemory?: number): void {
    const sink = this.options.sink;
    const deliver = sink.doneJson
      ? (item: WorkItem, i: number, device: string) => sink.doneJson!(item, JSON.stringify(outputs[i]) ?? 'null', device)
      : (item: WorkItem, i: number, device: string) => sink.done(item, outputs[i], device);
    const deliverSpan = (span: WorkItem, from: number, device: string) => {
      const texts = new Array<string>(span.count);
      for (let j = 0; j < span.count; j++) texts[j] = JSON.stringify(outputs[from + j]) ?? 'null';
      sink.doneSpan!(span, new OutputStrings(texts), 0, device);
    };
    this.answered(batch, outputs.length, errors, deliver, deliverSpan, batchMemory);
  }

  /** A batch answered with each output as JSON text (`result_lines`, `result_array`); `batchMemory` as for {@link onResult}. */
  onResultJson(batch: Batch, outputs: OutputTexts, errors: Record<string, ItemErrorBody> | undefined, batchMemory?: number): void {
    const sink = this.options.sink;
    const deliverSpan = (span: WorkItem, from: number, device: string) => sink.doneSpan!(span, outputs, from, device);
    if (!sink.doneJson) {
      // One parse of the whole batch: far cheaper than a parse per output.
      const parsed = JSON.parse(`[${outputTextList(outputs).join(',')}]`) as unknown[];
      return this.answered(batch, parsed.length, errors, (item, i, device) => sink.done(item, parsed[i], device), deliverSpan, batchMemory);
    }
    this.answered(batch, outputs.length, errors, (item, i, device) => sink.doneJson!(item, outputs.text(i), device), deliverSpan, batchMemory);
  }

  /**
   * `deliverSpan` is called only for a span whose outputs all succeeded and a sink with
   * `doneSpan`; any other span is unpacked here and its lines go through `deliver`.
   */
  private answered(batch: Batch, count: number, errors: Record<string, ItemErrorBody> | undefined, deliver: (item: WorkItem, i: number, device: string) => void, deliverSpan: (span: WorkItem, from: number, device: string) => void, batchMemory: number | undefined): void {
    const { items, target, size } = batch;
    const hadDevice = this.holds.endExclusive(target);
    this.inflightItems -= size;
    if (count !== size) {
      this.retry(unpackSpans(items), { code: 'GPUPOOL_E_WORKER_PROTOCOL', message: `worker ${target.id} returned ${count} outputs for ${size} inputs` });
    } else {
      const sink = this.options.sink;
      const device = target.deviceKey;
      const deliverOne = (item: WorkItem, i: number) => {
        const err = errors?.[i];
        if (err === undefined) deliver(item, i, device);
        else sink.failed(item, itemErrorFailure(err), device);
      };
      const wholeSpans = errors === undefined && sink.doneSpan !== undefined;
      for (let k = 0, i = 0; k < items.length; i += items[k].count, k++) {
        const item = items[k];
        if (item.count === 1) deliverOne(item, i);
        else if (wholeSpans) deliverSpan(item, i, device);
        else unpackSpan(item).forEach((one, j) => deliverOne(one, i + j));
      }
      const before = target.limit.value;
      if (target.limit.onSuccess(size, this.options.roomToGrow?.(target) ?? true) > before) this.holds.trimOnGrowth(target);
      if (this.trailsMade) for (const item of items) this.fitted(item);
      const heavier = batchMemory !== undefined && this.heavierThanUsual(target, batchMemory, size);
      if (!hadDevice && (heavier || this.oomFitted(items))) this.releaseAfterHeavy(target);
    }
    this.options.onBatch?.(target, size, performance.now() - batch.sentAt, 'ok');
    this.pump();
    this.checkIdle();
  }

  /** Returns how many of its items were written as failed (their attempts spent) for a `fatal` or `batch` failure; 0 for `oom`. */
  onFailed(batch: Batch, kind: FailureKind, message: string): number {
    const { target } = batch;
    const items = unpackSpans(batch.items);
    this.holds.endExclusive(target);
    this.inflightItems -= batch.size;
    let failed = 0;
    if (kind === 'oom') {
      this.outOfMemory(target, items, message);
    } else {
      const code: ErrorCode = kind === 'fatal' ? 'GPUPOOL_E_WORKER_CRASHED' : 'GPUPOOL_E_ITEM_FAILED';
      failed = this.retry(items, { code, message });
    }
    // After the limit took the failure in: what it reports (and a server remembers) is the new one.
    this.options.onBatch?.(target, batch.size, performance.now() - batch.sentAt, kind);
    this.pump();
    this.checkIdle();
    return failed;
  }

  /**
   * A larger batch is halved and its items retried at most half as many together; one item
   * alone is retried until `maxAttempts`, then failed. The limit learns from a failure only if
   * it is one of size. A failure is its items' when the batch was one item alone (whether or
   * not a retry alone then fits), or, on a device of its own, when a batch larger than this one
   * succeeded there since one of its items first ran out of memory, on any target (the size
   * fits, what this batch holds does not: one page far larger than the rest), unless such
   * bisections are common there ({@link AdaptiveBatchLimit.mayBlameItems}). Then every limit its
   * items lowered goes back to what it knew before, so one item never throttles the others. Not
   * on a device shared with other workers of the model: there a larger batch fitted while the
   * others' caches were empty (after an out-of-memory, a release), and taking it as proof blamed
   * failures of size on their items and sent the limit back up, again and again (an H100 with
   * two workers: 424-526 batches out of memory a run, against 31-38). There an item that fits
   * later gives back the ceiling it lowered instead ({@link fitted}). A failure of size that lowered the
   * limit has the other workers of the device empty their caches ({@link DeviceHolds.releaseBeside}).
   */
  private outOfMemory(target: DispatchTarget, items: WorkItem[], message: string): void {
    let startMarks: Map<AdaptiveBatchLimit, LimitMark> | undefined; // one mark per limit, for items failing for the first time
    let outgrown: LimitMark | undefined;
    const shared = this.holds.sharing(target);
    for (const item of items) {
      let trail = this.oomTrails.get(item);
      if (trail === undefined) {
        startMarks ??= this.markLimits();
        this.oomTrails.set(item, (trail = new OomTrail(startMarks)));
        this.trailsMade = true;
      }
      const since = trail.failedOn(target, items.length);
      if (since.largestOkSince > items.length && shared.length === 0) outgrown ??= since;
    }
    const itemsToBlame = items.length === 1 || (outgrown !== undefined && target.limit.mayBlameItems(outgrown));
    const before = target.limit.value;
    target.limit.onOutOfMemory(items.length, itemsToBlame);
    if (itemsToBlame) for (const item of items) this.forgiveLimitsOf(item, target);
    else if (target.limit.value < before) this.holds.releaseBeside(target);
    if (items.length > 1) {
      const cap = Math.max(1, Math.floor(items.length / 2));
      for (const item of items) item.batchCap = Math.min(item.batchCap, cap);
      this.requeue(items);
      return;
    }
    const [item] = items;
    if (!item.needsDevice && shared.length > 0) {
      // The other workers on its device hold memory (a framework's cache keeps what their batches
      // took): alone, with the device to itself, it may fit. Not an attempt: the device was not its.
      item.needsDevice = true;
      this.retries.unshiftAll(items);
      return;
    }
    const alone = item.needsDevice ? 'even alone with the device to itself' : 'even alone';
    this.retry(items, { code: 'GPUPOOL_E_OUT_OF_MEMORY', message: `out of device memory ${alone}: ${message}` });
  }

  /**
   * A batch holding an item that ran out of memory where batches of its size fit
   * ({@link OomTrail.failedWhereBatchesFit}), or one far heavier than usual
   * ({@link heavierThanUsual}), has succeeded on `target`: what it took stays in the
   * worker's cache (PyTorch keeps freed blocks), where the batches of the workers sharing its
   * device would run out of memory and learn a limit that fits only beside it (on an H200: 86
   * and 1 after a 20 GiB page). The worker is asked to give it back, and none of the device's
   * workers takes anything new until it has (what they hold already runs on): a batch sent to one
   * meanwhile ran out of memory beside the cached item, and taught that limit for good.
   */
  private releaseAfterHeavy(target: DispatchTarget): void {
    this.holds.holdWhileReleasing(target);
  }

  /** Whether `items` hold one that ran out of memory where batches of its size fit ({@link OomTrail.failedWhereBatchesFit}). */
  private oomFitted(items: readonly WorkItem[]): boolean {
    return this.trailsMade && items.some((item) => this.oomTrails.get(item)?.failedWhereBatchesFit === true);
  }

  /**
   * Whether a batch of `size` that took `bytes` took far more than `target`'s batches usually
   * take at its limit ({@link BatchMemoryWatch}): a page among small items, which leaves its
   * worker's cache holding it as {@link releaseAfterHeavy} says, though none of its items failed
   * before. Heavy only once an item has run out of memory in this run, and released only where
   * other workers of the model share the device ({@link DeviceHolds.holdWhileReleasing}): a
   * release makes the next batches allocate again, a cost worth paying only where a neighbour
   * runs out of memory beside the cache.
   */
  private heavierThanUsual(target: DispatchTarget, bytes: number, size: number): boolean {
    let watch = this.memoryWatches.get(target);
    if (watch === undefined) this.memoryWatches.set(target, (watch = new BatchMemoryWatch()));
    // The size the worker is sent now: its own max_batch may be below the limit it shares.
    const full = Math.min(target.limit.value, target.maxBatch ?? Infinity);
    // Judged (a sort of the window) only once it can matter; remembered from the start.
    const heavy = this.trailsMade && watch.heavy(bytes, size, full);
    watch.record(bytes, size);
    return heavy;
  }

  /** A mark of every limit, one per device (its targets share it). */
  private markLimits(): Map<AdaptiveBatchLimit, LimitMark> {
    const marks = new Map<AdaptiveBatchLimit, LimitMark>();
    for (const t of this.targets) if (!marks.has(t.limit)) marks.set(t.limit, t.limit.mark());
    return marks;
  }

  /**
   * Sends the item at the head of the retries, which needs its device whole, to `target` once
   * `target` and every target sharing its device are idle: they are held (nothing else is sent to
   * them) until it is answered, and asked to give back the memory they cache before it goes.
   * Until then nothing is sent to them (they drain for it: {@link HeadHold}, or, with no hold,
   * every target waits).
   */
  private sendWithDevice(target: DispatchTarget): void {
    const others = this.holds.claimDevice(target);
    if (others === undefined) return;
    const item = this.retries.shift()!;
    this.awaitingDevice.add(item);
    void Promise.all(others.map((t) => t.releaseMemory?.())).then(() => {
      let sent = false;
      // send() puts it back at the head of the line when the worker cannot take it; a worker that
      // stopped taking work meanwhile (a restart) is not asked; one taken meanwhile (takeQueued:
      // a drain) is not sent.
      if (this.awaitingDevice.delete(item)) {
        if (target.acceptsWork()) sent = this.send(target, [item]);
        else this.retries.unshiftAll([item]);
      }
      if (!sent) this.holds.endExclusive(target);
      this.pump();
      this.checkIdle();
    });
  }

  /**
   * `item`, which ran out of memory before, fitted in a batch: its failures may have been the
   * size's or its own (one page far larger than the rest, found only when it fails alone), and
   * the ceilings they lowered go back as far as they were failures at sizes proven lately
   * ({@link AdaptiveBatchLimit.forgiveCeiling}).
   */
  private fitted(item: WorkItem): void {
    const trail = this.oomTrails.get(item);
    if (trail === undefined || trail.isBlamed) return;
    for (const { target, mark, unproven, smallest } of trail.takeLowered(false)) target.limit.forgiveCeiling(mark, unproven, smallest);
  }

  /** `item` is to blame for an out-of-memory on `current`: the limits it lowered go back. */
  private forgiveLimitsOf(item: WorkItem, current: DispatchTarget): void {
    for (const { target, mark } of this.oomTrails.get(item)?.takeLowered(true) ?? []) {
      const was = target.limit.value;
      // `current`'s new limit is reported with its batch (onBatch): the others' here.
      if (target.limit.forgive(mark) !== was && target !== current) this.options.onLimitChangedBeside?.(target);
    }
  }

  /** A worker died holding these batches. Returns how many of their items were written as failed (their attempts spent); the others go back to the queue. */
  onLost(batches: readonly Batch[], failure: ItemFailure): number {
    let failed = 0;
    for (const batch of batches) {
      this.holds.endExclusive(batch.target);
      this.inflightItems -= batch.size;
      this.options.onBatch?.(batch.target, batch.size, performance.now() - batch.sentAt, 'lost');
      failed += this.retry(unpackSpans(batch.items), failure, true);
    }
    this.pump();
    this.checkIdle();
    return failed;
  }

  /**
   * `lost`: the worker died holding this batch, maybe killed by a neighbour batch in flight
   * beside it (a poison's fatal error, a crash): only an isolated item, which had the worker
   * to itself, is then to blame; a batch of one that merely happened to be small is not.
   */
  private retry(items: WorkItem[], failure: ItemFailure, lost = false): number {
    const alone = items.length === 1 && !lost;
    const cap = Math.max(1, Math.floor(items.length / 2));
    const again: WorkItem[] = [];
    let failed = 0;
    for (const item of items) {
      item.attempts++;
      item.lastError = failure;
      if (item.attempts >= this.options.maxAttempts && (item.isolated || alone)) {
        this.options.sink.failed(item, failure, undefined);
        failed++;
        continue;
      }
      if (item.attempts >= this.options.maxAttempts) item.isolated = true;
      item.batchCap = Math.min(item.batchCap, cap);
      again.push(item);
    }
    this.requeue(again);
    return failed;
  }

  /**
   * Puts retried items first in line, but behind an item that must run alone: in front of it,
   * they would be taken by the targets held for it (the head is then an ordinary item), and with
   * batches failing on another device that could go on for ever.
   */
  private requeue(items: WorkItem[]): void {
    const head = this.retries.peek();
    if (head === undefined || !(head.isolated || head.needsDevice) || items.length === 0) return this.retries.unshiftAll(items);
    this.retries.shift();
    this.retries.unshiftAll(items);
    this.retries.unshiftAll([head]);
  }

  private take(limit: number): WorkItem[] {
    const maxCost = this.options.batch.max_cost ?? Infinity;
    const head = this.retries.peek();
    if (head && !head.isolated && !head.needsDevice) limit = Math.min(limit, head.batchCap);
    const batch: WorkItem[] = [];
    let cost = 0;
    let size = 0;
    let chars = 0;
    for (const source of [this.retries, this.queue]) {
      while (size < limit) {
        let next = source.peek();
        if (next === undefined || next.isolated || next.needsDevice) break;
        if (batch.length > 0 && (cost + next.cost > maxCost || !fitsOneFrame(chars + next.json.length))) return batch;
        source.shift();
        if (size + next.count > limit) {
          // A span larger than the room left (spans are only ever in `queue`): the batch takes
          // its head, the rest stays first in line.
          const [head, rest] = splitSpan(next, limit - size);
          source.unshiftAll([rest]);
          next = head;
        }
        if (source === this.queue) this.queuedInputs -= next.count;
        batch.push(next);
        cost += next.cost;
        size += next.count;
        chars += next.json.length;
      }
    }
    return batch;
  }

  private send(target: DispatchTarget, items: WorkItem[]): boolean {
    const json = new Array<string>(items.length);
    let size = 0;
    for (let i = 0; i < items.length; i++) {
      json[i] = items[i].json;
      size += items[i].count;
    }
    const batch: Batch = { items, size, target, sentAt: performance.now() };
    if (target.send(batch, json)) {
      this.inflightItems += size;
      return true;
    }
    this.requeue(unpackSpans(items));
    return false;
  }

  /** The oldest queued input has waited batch.timeout. */
  private timedOut(): boolean {
    return this.waitingSince > 0 && performance.now() - this.waitingSince >= this.options.batch.timeout;
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump(true);
    }, this.options.batch.timeout);
  }

  private checkIdle(): void {
    if (!this.inputEnded || this.pending > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
