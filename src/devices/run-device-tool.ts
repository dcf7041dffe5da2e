import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { DeviceToolError } from './device-tool-error.js';

/** @defaultValue 15 s: `nvidia-smi` on a busy 8-GPU host takes seconds, a hung driver forever. */
export const DEVICE_TOOL_TIMEOUT_MS = 15_000;

/**
 * Runs a vendor SMI tool and returns its stdout. A non-zero exit, a timeout or a missing
 * program becomes a {@link DeviceToolError} carrying the tool's first line of complaint.
 */
export function runDeviceTool(
  tool: string,
  file: string,
  args: readonly string[],
  timeoutMs: number = DEVICE_TOOL_TIMEOUT_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    // LC_ALL=C: decimal points and messages as the parsers expect them.
    const env = { ...process.env, LC_ALL: 'C' };
    execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env }, (err, stdout, stderr) => {
      if (err) {
        const said = firstLine(stderr) || firstLine(stdout) || err.message;
        const how = err.killed ? `timed out after ${timeoutMs} ms` : `failed (${err.code ?? 'error'})`;
        reject(new DeviceToolError(tool, `\`${file} ${args.join(' ')}\` ${how}: ${said}`, { cause: err }));
        return;
      }
      resolve(stdout);
    });
  });
}

function firstLine(text: string | Buffer): string {
  return String(text).split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
}

/**
 * Finds an executable: an override path (used as given), else the first hit on PATH, else
 * the vendor's usual install location. Undefined when none is executable.
 */
export async function findExecutable(
  name: string,
  override: string | undefined,
  fallbacks: readonly string[] = [],
  pathEnv: string | undefined = process.env.PATH,
): Promise<string | undefined> {
  if (override) return override;
  const dirs = (pathEnv ?? '').split(delimiter).filter((d) => isAbsolute(d));
  for (const candidate of [...dirs.map((d) => join(d, name)), ...fallbacks]) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: keep looking
    }
  }
  return undefined;
}
