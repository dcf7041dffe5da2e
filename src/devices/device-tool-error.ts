/**
 * A vendor tool or library that could not answer: absent, failing, or printing what we
 * cannot read. Discovery catches it to fall back to the next source; anything else lets it
 * surface with the tool's own words attached.
 */
export class DeviceToolError extends Error {
  /** `nvml`, `nvidia-smi`, `npu-smi`, `rocm-smi`. */
  readonly tool: string;

  constructor(tool: string, message: string, options?: { cause?: unknown }) {
    super(`${tool}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeviceToolError';
    this.tool = tool;
  }
}

export function isDeviceToolError(err: unknown): err is DeviceToolError {
  return err instanceof DeviceToolError;
}
