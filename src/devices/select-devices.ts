import { GpupoolError } from '../errors/index.js';
import { DEVICE_KIND, type Device, type Vendor } from './device.js';
import { compareDevices, describeDevices } from './describe-devices.js';
import { visibilityRestrictions, type VisibilityRestriction } from './visibility-restrictions.js';

const PREFIX_VENDOR: Readonly<Record<string, Vendor>> = {
  cuda: 'nvidia',
  gpu: 'nvidia',
  npu: 'ascend',
  rocm: 'amd',
  hip: 'amd',
};

const FORMS = '`all`, `cpu`, indices (`6,7`, `0-3`), `cuda:1`, `npu:6,7`, `rocm:0`, or a UUID or its unique prefix';

interface Context {
  readonly available: readonly Device[];
  readonly accelerators: readonly Device[];
  readonly restrictions: readonly VisibilityRestriction[];
}

/**
 * Resolves a device choice, as users write it, to devices of this host: `all` (every
 * usable accelerator; the CPU only where there is none), `cpu`, indices `6,7` or ranges
 * `0-3`, `cuda:1`, `npu:6,7` (a prefix carries to the indices after it), `rocm:0`, or UUIDs
 * (full or a unique prefix such as `GPU-5f1c`). Indices are the host's (`gpupool
 * devices`); where gpupool itself runs under a visibility variable, only the devices it
 * leaves may be chosen, still by host index: a container given cards 6 and 7 says `6,7`.
 *
 * @throws GpupoolError GPUPOOL_E_UNKNOWN_DEVICE naming what exists, or
 *   GPUPOOL_E_DEVICE_NOT_VISIBLE naming the variable that hides the device.
 */
export function selectDevices(
  spec: string | readonly string[],
  available: readonly Device[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Device[] {
  const tokens = (typeof spec === 'string' ? [spec] : spec)
    .flatMap((s) => s.split(/[\s,]+/))
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (tokens.length === 0) {
    throw new GpupoolError('GPUPOOL_E_UNKNOWN_DEVICE', `no devices were named; write ${FORMS}. This host has ${describeDevices(available)}.`);
  }
  const ctx: Context = {
    available,
    accelerators: available.filter((d) => d.vendor !== 'cpu'),
    restrictions: visibilityRestrictions(available, env),
  };
  const chosen: Device[] = [];
  let carriedVendor: Vendor | undefined;
  for (const token of tokens) {
    const prefixed = /^([a-z]+):(.+)$/i.exec(token);
    let devices: Device[];
    if (prefixed && PREFIX_VENDOR[prefixed[1].toLowerCase()]) {
      carriedVendor = PREFIX_VENDOR[prefixed[1].toLowerCase()];
      devices = byIndexOrUuid(prefixed[2], carriedVendor, token, ctx);
    } else if (/^\d+(-\d+)?$/.test(token) && carriedVendor) {
      // `npu:6,7`: the 7 is npu:7.
      devices = byIndexOrUuid(token, carriedVendor, token, ctx);
    } else {
      carriedVendor = undefined;
      devices = resolveBare(token, ctx);
    }
    for (const d of devices) if (!chosen.includes(d)) chosen.push(d);
  }
  return chosen;
}

function resolveBare(token: string, ctx: Context): Device[] {
  const lower = token.toLowerCase();
  if (lower === 'all') return allUsable(ctx);
  if (lower === 'cpu' || lower === 'cpu:0') return [cpuDevice(ctx, token)];
  if (/^\d+(-\d+)?$/.test(token)) {
    const vendors = [...new Set(ctx.accelerators.map((d) => d.vendor))];
    if (vendors.length > 1) {
      const forms = vendors.map((v) => `${DEVICE_KIND[v]}:${token}`).join(' or ');
      throw new GpupoolError(
        'GPUPOOL_E_UNKNOWN_DEVICE',
        `device "${token}" is ambiguous: this host has ${vendors.length} kinds of accelerator (${describeDevices(ctx.accelerators)}); write ${forms}.`,
      );
    }
    if (vendors.length === 0) {
      throw new GpupoolError('GPUPOOL_E_UNKNOWN_DEVICE', `no device "${token}": this host has no accelerator, only ${describeDevices(ctx.available)}; use \`cpu\`.`);
    }
    return byIndexOrUuid(token, vendors[0], token, ctx);
  }
  return [checkVisible(byUuid(token, ctx.available, ctx), ctx)];
}

function byIndexOrUuid(text: string, vendor: Vendor, token: string, ctx: Context): Device[] {
  if (vendor === 'cpu') return [cpuDevice(ctx, token)];
  const own = ctx.available.filter((d) => d.vendor === vendor);
  const range = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!range) return [checkVisible(byUuid(text, own, ctx), ctx)];
  const from = Number(range[1]);
  const to = range[2] === undefined ? from : Number(range[2]);
  if (to < from) throw new GpupoolError('GPUPOOL_E_UNKNOWN_DEVICE', `device range "${token}" runs backwards; write ${from}-${to} as ${to}-${from}.`);
  const devices: Device[] = [];
  for (let index = from; index <= to; index++) {
    const device = own.find((d) => d.index === index);
    if (!device) {
      const kind = DEVICE_KIND[vendor];
      throw new GpupoolError(
        'GPUPOOL_E_UNKNOWN_DEVICE',
        `no device ${kind}:${index} (from "${token}"); this host has ${describeDevices(ctx.available)}.`,
      );
    }
    devices.push(checkVisible(device, ctx));
  }
  return devices;
}

function byUuid(text: string, among: readonly Device[], ctx: Context): Device {
  const needle = text.toLowerCase();
  const exact = among.find((d) => d.uuid.toLowerCase() === needle);
  if (exact) return exact;
  const matches = among.filter((d) => d.uuid.toLowerCase().startsWith(needle));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new GpupoolError(
      'GPUPOOL_E_UNKNOWN_DEVICE',
      `device "${text}" matches ${matches.length} UUIDs (${matches.map((d) => `${d.key} ${d.uuid}`).join(', ')}); give more of the UUID.`,
    );
  }
  throw new GpupoolError(
    'GPUPOOL_E_UNKNOWN_DEVICE',
    `no device "${text}"; write ${FORMS}. This host has ${describeDevices(ctx.available)}.`,
  );
}

function cpuDevice(ctx: Context, token: string): Device {
  const cpu = ctx.available.find((d) => d.vendor === 'cpu');
  if (!cpu) throw new GpupoolError('GPUPOOL_E_UNKNOWN_DEVICE', `no CPU device for "${token}" among ${describeDevices(ctx.available)}.`);
  return cpu;
}

function allUsable(ctx: Context): Device[] {
  const usable = ctx.accelerators.filter((d) => isVisible(d, ctx)).sort(compareDevices);
  if (usable.length > 0) return usable;
  // Hiding every card by mistake (ASCEND_RT_VISIBLE_DEVICES=6,7 where the runtime counts
  // 0..1) must not quietly fall back to the CPU: that is how jobs land on the wrong device.
  const mistaken = ctx.restrictions.find((r) => !r.hidesAll && r.unknown.length > 0);
  if (mistaken) throw notVisibleError(mistaken, ctx, `\`all\` finds no usable accelerator`);
  return [cpuDevice(ctx, 'all')];
}

function isVisible(device: Device, ctx: Context): boolean {
  const restriction = ctx.restrictions.find((r) => r.vendor === device.vendor);
  return !restriction || restriction.visible.includes(device);
}

function checkVisible(device: Device, ctx: Context): Device {
  if (isVisible(device, ctx)) return device;
  const restriction = ctx.restrictions.find((r) => r.vendor === device.vendor);
  throw notVisibleError(restriction!, ctx, `${device.key} (${device.uuid}) is hidden`);
}

function notVisibleError(r: VisibilityRestriction, ctx: Context, what: string): GpupoolError {
  const unknown = r.unknown.length > 0 ? `; ${r.unknown.map((u) => `"${u}"`).join(', ')} named no device here` : '';
  const logical =
    r.vendor === 'ascend'
      ? ` (ASCEND_RT_VISIBLE_DEVICES takes the runtime's logical ids: ${ctx.available
          .filter((d) => d.vendor === 'ascend')
          .map((d) => `${d.key} is ${d.visibleId ?? d.index}`)
          .join(', ')})`
      : '';
  return new GpupoolError(
    'GPUPOOL_E_DEVICE_NOT_VISIBLE',
    `${what}: gpupool runs under ${r.variables.join(' ')}, which leaves ${describeDevices(r.visible)}${unknown}${logical}.`,
  );
}

/**
 * {@link selectDevices}, its errors naming where the choice was written (`from`: "--devices
 * gpu0", "`models.ocr.devices` in gpupool.yaml"): a bad value in the config read as if it
 * were a flag's.
 */
export function selectDevicesFrom(
  spec: string | readonly string[],
  available: readonly Device[],
  from: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Device[] {
  try {
    return selectDevices(spec, available, env);
  } catch (err) {
    if (err instanceof GpupoolError) throw new GpupoolError(err.code, `${from}: ${err.message}`, { cause: err, details: err.details });
    throw err;
  }
}

/** Where a model's devices were chosen, for {@link selectDevicesFrom}: the flag when given, else the model's key in its config. */
export function devicesChoiceSource(flag: string | readonly string[] | undefined, model: string, configFile: string | undefined): string {
  if (flag !== undefined) return `--devices ${typeof flag === 'string' ? flag : flag.join(',')}`;
  return `\`models.${model}.devices\`${configFile === undefined ? '' : ` in ${configFile}`}`;
}
