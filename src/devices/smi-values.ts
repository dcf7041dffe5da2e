/** Bytes in one MiB: nvidia-smi and npu-smi report memory in MiB (npu-smi labels it "MB"). */
export const MIB = 1024 * 1024;

/**
 * A number from an SMI column, or undefined for the placeholders the tools print instead:
 * `[N/A]`, `[Not Supported]`, `N/A`, `NA`, `-`, `UNKNOWN`, `[Insufficient Permissions]`.
 */
export function smiNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^-?\d+(\.\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** MiB column → bytes, keeping "not reported" as undefined. */
export function mibToBytes(text: string | undefined): number | undefined {
  const n = smiNumber(text);
  return n === undefined ? undefined : Math.round(n * MIB);
}

/** Splits text into trimmed non-empty lines, tolerating CRLF and trailing spaces. */
export function textLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l.trim().length > 0);
}
