import type { AnswerPolling } from './answer-polling.js';
import type { FailedMessage, HelloMessage, ResultLinesMessage, ResultMessage } from '../protocol/index.js';

export interface WorkerProcessOptions {
  /** `model/device/replica`, e.g. `ocr/cuda:1/0`; also given to the worker as GPUPOOL_WORKER_ID. */
  readonly id: string;
  readonly model: string;
  /** argv; argv[0] already resolved (see resolveCommand). */
  readonly command: readonly string[];
  readonly cwd: string;
  /** The complete environment of the child (pinning included). */
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  /** Echo the worker's output to this stream, each line prefixed (`--verbose`). */
  readonly echo?: NodeJS.WritableStream;
  /** From spawn to `ready`. */
  readonly startTimeoutMs: number;
  /** A batch at the head of the worker's queue for longer kills the worker. */
  readonly batchDeadlineMs: number;
  /** Told of every batch sent and settled, to poll for answers (one per pool: the event loop is shared). */
  readonly answerPolling?: AnswerPolling;
}

/** Why a worker process ended. `requested`: we stopped it; anything else is a crash. */
export type ExitReason = 'requested' | 'exited' | 'fatal' | 'deadline' | 'protocol' | 'killed';

export interface WorkerExit<B> {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly reason: ExitReason;
  /** The batches it held, unanswered, in dispatch order: they must be retried. */
  readonly inflight: B[];
  /** What went wrong, with the end of the worker's stderr. */
  readonly message: string;
}

/** Callbacks instead of string events: typed, and no emitter overhead on the hot path. */
export interface WorkerHandlers<B> {
  result(batch: B, msg: ResultMessage): void;
  resultLines(batch: B, msg: ResultLinesMessage): void;
  failed(batch: B, msg: FailedMessage): void;
  exit(exit: WorkerExit<B>): void;
  hello?(msg: HelloMessage): void;
  /** A `release` went unanswered for RELEASE_TIMEOUT_MS: whoever waited for it went on without. */
  releaseUnanswered?(): void;
}
