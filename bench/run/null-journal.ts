import type { CommitGroup, JobJournal, JournalStatus, LearnedLimit, ResumeState } from '../../src/store/index.js';
import { SeqSet } from '../../src/store/index.js';

/** A journal that remembers nothing: the baseline that prices the real one. */
export class NullJournal implements JobJournal {
  resume(): ResumeState {
    return { done: new SeqSet(), failed: new SeqSet(), outputBytes: 0, counts: { done: 0, failed: 0 } };
  }
  commit(_group: CommitGroup): void {}
  retryFailed(): void {}
  learnedLimits(_model: string): Record<string, LearnedLimit> {
    return {};
  }
  saveLearnedLimit(): void {}
  setMeta(): void {}
  markFinished(): void {}
  status(): JournalStatus {
    throw new Error('the null journal keeps no status');
  }
  close(): void {}
}
