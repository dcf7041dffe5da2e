import { formatBytes, type ModelConfig } from '../config/index.js';
import type { Device } from '../devices/device.js';
import { modelFingerprint, type MeasuredNeed, type MeasuredNeedStore } from './measured-need-store.js';

/** A remembered measurement is used with this much on top: the next run's batches may reach a little further. */
export const MEASURED_NEED_MARGIN = 0.1;

/** The `memory.need` placement uses for a model, and where it came from. */
export interface NeedChoice {
  readonly bytes: number;
  readonly source: 'config' | 'measured';
  /** The measurements it was taken from (`measured`). */
  readonly measured?: readonly MeasuredNeed[];
  /**
   * Per card model (`NVIDIA H200`), where the need was measured on several (mixed cards):
   * each is placed by its own peak +margin. A card model never measured takes `bytes`.
   */
  readonly byDeviceName?: ReadonlyMap<string, number>;
  /** Said in refusals and skips after `memory.need X`: `(remembered: …)`; empty for a configured need. */
  readonly note: string;
}

/**
 * A configured `memory.need` always wins. Without one, the peak remembered for this model
 * (same fingerprint) on the chosen devices' card models, plus {@link MEASURED_NEED_MARGIN}:
 * where they are of several (mixed cards), each card model has its own (`byDeviceName`) and
 * `bytes` is the largest, for card models never measured. Undefined: nothing to place by.
 */
export function chooseNeed(model: ModelConfig, baseDir: string, devices: readonly Device[], store: MeasuredNeedStore | undefined): NeedChoice | undefined {
  if (model.memory.need !== undefined) return { bytes: model.memory.need, source: 'config', note: '' };
  if (!store) return undefined;
  const fingerprint = modelFingerprint(model, baseDir);
  const names = [...new Set(devices.filter((d) => d.vendor !== 'cpu').map((d) => d.name))];
  const measured = names.flatMap((n) => store.get(fingerprint, n) ?? []);
  if (measured.length === 0) return undefined;
  const withMargin = (m: MeasuredNeed): number => Math.ceil(m.bytes * (1 + MEASURED_NEED_MARGIN));
  const peak = measured.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const bytes = withMargin(peak);
  const note =
    measured.length === 1
      ? `remembered: ${formatBytes(peak.bytes)} measured on ${peak.device} at ${peak.measuredAt}, +${MEASURED_NEED_MARGIN * 100}%, from ${store.file}`
      : `remembered per card model: ${measured.map((m) => `${formatBytes(m.bytes)} on ${m.device}`).join(', ')}, +${MEASURED_NEED_MARGIN * 100}%, from ${store.file}`;
  const byDeviceName = measured.length > 1 ? new Map(measured.map((m) => [m.device, withMargin(m)])) : undefined;
  return { bytes, source: 'measured', measured, note, ...(byDeviceName ? { byDeviceName } : {}) };
}

/** The need on each device, for `planWorkersByMemory`'s `needOn`: undefined where it is the same everywhere. */
export function needPerDevice(choice: NeedChoice): { needOn?: (device: Device) => number } {
  const byName = choice.byDeviceName;
  return byName ? { needOn: (d: Device) => byName.get(d.name) ?? choice.bytes } : {};
}
