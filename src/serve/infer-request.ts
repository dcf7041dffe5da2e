import { GpupoolError } from '../errors/index.js';
import { shownCode, type ItemFailure, type WorkItem } from '../scheduler/index.js';
import type { ItemOwner } from './item-owner.js';
import type { ServedModel } from './served-model.js';

/** How an infer request ended, for metrics. */
export type InferOutcome = 'ok' | 'partial' | 'failed' | 'deadline';

/** Where an infer request's answer goes (the route's reply). */
export interface InferResponder {
  /** `{"outputs": [...]}`, ready to send. */
  ok(body: string): void;
  /** An error body; `outputsJson` (the outputs array's inner text) is added to it when given. */
  fail(err: GpupoolError, outputsJson?: string): void;
  settled(outcome: InferOutcome, seconds: number): void;
}

/**
 * One `POST /v1/models/{model}/infer`: one work item per input (its `seq` is the input's
 * position), a count of those not yet answered, and a deadline. The reply goes out when the
 * last item is answered; a late answer after the deadline is dropped. Outputs are kept as
 * the workers' JSON text and joined once.
 */
export class InferRequest implements ItemOwner {
  private readonly outputs: string[];
  private remaining: number;
  private failures = 0;
  private firstFailure?: ItemFailure;
  private timer?: NodeJS.Timeout;
  private settled = false;
  private readonly startedAt = performance.now();

  constructor(
    private readonly model: ServedModel,
    count: number,
    private readonly responder: InferResponder,
  ) {
    this.outputs = new Array<string>(count);
    this.remaining = count;
  }

  /** Arms the deadline; call after the items are pushed. */
  startDeadline(ms: number): void {
    if (!this.settled) this.timer = setTimeout(() => this.expire(ms), ms);
  }

  itemDone(item: WorkItem, outputJson: string): void {
    this.model.outstanding--;
    if (this.settled) return;
    this.outputs[item.seq] = outputJson;
    if (--this.remaining === 0) this.finish();
  }

  itemFailed(item: WorkItem, failure: ItemFailure): void {
    this.model.outstanding--;
    if (this.settled) return;
    this.outputs[item.seq] = `{"error":${JSON.stringify({ code: shownCode(failure), message: failure.message })}}`;
    this.failures++;
    this.firstFailure ??= failure;
    if (--this.remaining === 0) this.finish();
  }

  private finish(): void {
    this.settled = true;
    clearTimeout(this.timer);
    const inner = this.outputs.join(',');
    const seconds = (performance.now() - this.startedAt) / 1000;
    if (this.failures === 0) {
      this.responder.ok(`{"outputs":[${inner}]}`);
      this.responder.settled('ok', seconds);
    } else if (this.failures < this.outputs.length) {
      this.responder.ok(`{"outputs":[${inner}]}`);
      this.responder.settled('partial', seconds);
    } else {
      // Nothing succeeded: the status says so, and each item's error stays in place.
      const first = this.firstFailure!;
      const message = this.outputs.length === 1 ? first.message : `all ${this.outputs.length} inputs failed; the first: ${first.message}`;
      this.responder.fail(new GpupoolError(first.code, message), inner);
      this.responder.settled('failed', seconds);
    }
  }

  private expire(ms: number): void {
    if (this.settled) return;
    this.settled = true;
    const answered = this.outputs.length - this.remaining;
    this.responder.fail(
      new GpupoolError(
        'GPUPOOL_E_DEADLINE',
        `the request did not finish within its deadline of ${ms} ms (${answered} of ${this.outputs.length} inputs answered); ${this.model.outstanding} items of model "${this.model.name}" are queued or running`,
      ),
    );
    this.responder.settled('deadline', (performance.now() - this.startedAt) / 1000);
  }
}
