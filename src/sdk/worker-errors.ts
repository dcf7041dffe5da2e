/** Return an ItemError as an output to fail that item alone; the rest of the batch stands. */
export class ItemError {
  constructor(readonly message: string, readonly code?: string) {}
}

/** Throw from predict when the device ran out of memory: gpupool splits the batch and retries. */
export class OutOfMemoryError extends Error {
  override name = 'OutOfMemoryError';
}

/** Throw when the process is unusable (a sticky device error): gpupool restarts the worker. */
export class FatalError extends Error {
  override name = 'FatalError';
}
