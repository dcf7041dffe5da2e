import { closeDeviceProviders, listDevices, openDeviceProviders, selectDevicesFrom, type DeviceProvider } from '../devices/index.js';

/**
 * Checks the devices a run would place its workers on against this host's, as starting the pool
 * does, and starts nothing: a finished job run again (nothing left to run) still refuses
 * `--devices 9` on a host of two cards, or a typo, instead of exiting 0 until the input changes.
 * Costs a device query (NVML, or a tool's run), not a model load.
 *
 * @throws GpupoolError GPUPOOL_E_UNKNOWN_DEVICE or GPUPOOL_E_DEVICE_NOT_VISIBLE, as a run would,
 *   naming `from` (where the choice was written: {@link devicesChoiceSource}).
 */
export async function checkDeviceSelection(spec: string | readonly string[], from: string, given?: DeviceProvider[]): Promise<void> {
  const providers = given ?? (await openDeviceProviders());
  try {
    selectDevicesFrom(spec, await listDevices(providers), from);
  } finally {
    if (given === undefined) await closeDeviceProviders(providers);
  }
}
