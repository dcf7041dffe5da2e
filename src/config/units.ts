/** Human units at the edge: '5ms' → 5, '2s' → 2000, '12GiB' → bytes. Plain numbers pass through. */
const DURATION_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_BYTES: Record<string, number> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

function parseUnit(value: string, table: Record<string, number>): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  const factor = unit === '' ? 1 : table[unit];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

/** Milliseconds from `'5ms'`, `'1.5s'`, `'10m'`, `'1h'` or a number of ms; undefined if malformed. */
export function parseDuration(value: string | number): number | undefined {
  return typeof value === 'number' ? value : parseUnit(value, DURATION_MS);
}

/** Bytes from `'2GiB'`, `'512MB'` or a number of bytes; undefined if malformed. */
export function parseBytes(value: string | number): number | undefined {
  const n = typeof value === 'number' ? value : parseUnit(value, SIZE_BYTES);
  return n === undefined ? undefined : Math.round(n);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
