// Checks the NVIDIA providers against a real GPU host and captures the nvidia-smi fixtures;
// not part of `npm test`, which runs where there is no GPU. On a host with GPUs, torch and
// nvidia-smi (Node may be carried, see ../shared/gpu-host/README.md), from the repo root:
//   npx esbuild test/devices/gpu-host-check.ts --bundle --platform=node --format=esm \
//     --target=node20 --external:koffi --outfile=out/gpu/gpu-host-check.mjs
//   copy node_modules/koffi/{package.json,index.js,indirect.js,build/koffi/linux_x64} to out/gpu/node_modules/koffi
//   OUT=/tmp/gpu-check node out/gpu/gpu-host-check.mjs
// It starts five memory holders pinned with pinningEnv (one misplaced on purpose, one whose
// child drops the gpupool variables), compares NVML with nvidia-smi, times both, renders the
// table and exits 1 on any FAIL. Outputs land in $OUT (idle/busy gpus and apps CSVs).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  NvmlProvider, NvidiaSmiProvider, openDeviceProviders, snapshotDevices, pinningEnv, selectDevices,
  parseNvidiaSmiGpus, parseNvidiaSmiApps, closeDeviceProviders, type Device,
} from '../../src/devices/index.js';
import { renderDeviceTable, devicesToJson } from '../../src/cli/commands/devices-command.js';

const OUT = process.env.OUT ?? '/tmp/gpu-check';
mkdirSync(OUT, { recursive: true });
const HOLDER = process.env.GPUPOOL_HOLDER ?? 'test/devices/gpu-host-holder.py';
let failures = 0;
const report: string[] = [];
const log = (s: string) => { report.push(s); console.log(s); };
const save = (name: string, text: string) => writeFileSync(`${OUT}/${name}`, text);
const GPU_ARGS = ['--query-gpu=index,uuid,name,pci.bus_id,memory.total,memory.used,memory.free,utilization.gpu', '--format=csv,noheader,nounits'];
const APPS_ARGS = ['--query-compute-apps=pid,gpu_uuid,used_memory', '--format=csv,noheader,nounits'];
const smi = (args: string[]) => execFileSync('nvidia-smi', args, { encoding: 'utf8' });
const check = (ok: boolean, what: string) => {
  if (!ok) failures++;
  log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
};

save('idle-gpus.csv', smi(GPU_ARGS));
save('idle-apps.csv', smi(APPS_ARGS));
const nvml = NvmlProvider.open();
check(nvml !== null, 'NVML opens through koffi');
if (!nvml) process.exit(1);
const devices = await nvml.list();
const parsed = parseNvidiaSmiGpus(smi(GPU_ARGS));
log(`NVML devices: ${JSON.stringify(devices)}`);
check(JSON.stringify(devices.map((d) => [d.key, d.uuid, d.name, d.pciBusId])) === JSON.stringify(parsed.devices.map((d) => [d.key, d.uuid, d.name, d.pciBusId])), 'NVML and nvidia-smi agree on key/uuid/name/bus id');
log(`memoryTotal nvml=${devices.map((d) => d.memoryTotal)} smi=${parsed.devices.map((d) => d.memoryTotal)}`);

const holders: ChildProcess[] = [];
const ready: Promise<string>[] = [];
function hold(device: Device, mib: number, extra: Record<string, string>, wrap = false): number {
  const env = { ...process.env, ...pinningEnv([device]), ...extra };
  const args = wrap ? ['-c', `env -u GPUPOOL_WORKER_ID -u GPUPOOL_MODEL python3 ${HOLDER} ${mib}; true`] : [HOLDER, String(mib)];
  const child = spawn(wrap ? 'bash' : 'python3', args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  holders.push(child);
  ready.push(new Promise((resolve) => child.stdout!.once('data', (b) => {
    const line = String(b).trim();
    check(line.includes(`uuid=${device.uuid.slice(4)}`) && line.includes('count=1'), `pinningEnv(${device.key}) puts torch on ${device.uuid} alone: ${line}`);
    resolve(`${device.key} ${extra.GPUPOOL_WORKER_ID ?? 'other'}: ${line}`);
  })));
  return child.pid!;
}
const last = devices[devices.length - 1];
hold(devices[0], 3000, { GPUPOOL_WORKER_ID: 'ocr/cuda:0/0', GPUPOOL_MODEL: 'ocr' });
hold(last, 5000, { GPUPOOL_WORKER_ID: `ocr/${last.key}/0`, GPUPOOL_MODEL: 'ocr' });
hold(last, 1000, {});
hold(last, 700, { GPUPOOL_WORKER_ID: devices.length === 1 ? 'ocr/cuda:1/1' : 'ocr/cuda:0/1', GPUPOOL_MODEL: 'ocr' }); // misplaced on purpose
const wrapperPid = hold(devices[0], 500, { GPUPOOL_WORKER_ID: 'emb/cuda:0/0', GPUPOOL_MODEL: 'emb' }, true);
for (const line of await Promise.all(ready)) log(`holder ${line}`);
await new Promise((r) => setTimeout(r, 1500));

save('busy-gpus.csv', smi(GPU_ARGS));
save('busy-apps.csv', smi(APPS_ARGS));
const smiApps = parseNvidiaSmiApps(smi(APPS_ARGS));
const nvmlApps = await nvml.processes();
log(`nvidia-smi apps: ${JSON.stringify(smiApps)}`);
log(`NVML apps: ${JSON.stringify(nvmlApps)}`);
const key = (p: { pid: number; deviceUuid: string }) => `${p.pid}@${p.deviceUuid}`;
check(JSON.stringify(smiApps.map(key).sort()) === JSON.stringify(nvmlApps.map(key).sort()), 'NVML and nvidia-smi list the same processes');
check(nvmlApps.length === 5, `five holders seen (${nvmlApps.length})`);

let t = performance.now();
for (let i = 0; i < 100; i++) await nvml.sample();
log(`NVML sample: ${((performance.now() - t) / 100 * 1000).toFixed(0)} µs per call (all devices)`);
const smiProvider = new NvidiaSmiProvider('nvidia-smi');
t = performance.now();
for (let i = 0; i < 5; i++) { await smiProvider.sample(); await new Promise((r) => setTimeout(r, 300)); }
log(`nvidia-smi sample: ${((performance.now() - t) / 5 - 300).toFixed(1)} ms per call`);
await nvml.close();

const providers = await openDeviceProviders();
log(`sources: ${providers.map((p) => p.source).join(', ')}`);
const snaps = await snapshotDevices(providers);
log(renderDeviceTable(snaps, { width: 110 }));
save('snapshot.json', JSON.stringify(devicesToJson(snaps), null, 2));
const owned = snaps.flatMap((s) => s.processes.map((p) => `${s.device.key} ${p.worker ?? 'other'}${p.misplaced ? ' MISPLACED' : ''}`));
log(`owners: ${owned.join('; ')}`);
check(owned.includes('cuda:0 emb/cuda:0/0'), `child with cleared env found via parent ${wrapperPid}`);
check(owned.some((o) => o.endsWith('MISPLACED')), 'misplaced worker flagged');
await closeDeviceProviders(providers);

const fallback = await openDeviceProviders({ env: { ...process.env, GPUPOOL_NO_NVML: '1' } });
log(`GPUPOOL_NO_NVML=1 sources: ${fallback.map((p) => p.source).join(', ')}`);
log(renderDeviceTable(await snapshotDevices(fallback), { width: 110 }));
const all = await fallback[0].list();
check(selectDevices('all', all, { CUDA_VISIBLE_DEVICES: last.uuid.slice(0, 12) }).map((d) => d.key).join() === last.key, 'CUDA_VISIBLE_DEVICES=<uuid prefix> restricts `all`');
await closeDeviceProviders(fallback);

for (const h of holders) h.kill('SIGKILL'); // each holder exits once its parent is gone
save('report.txt', report.join('\n') + '\n');
process.exit(failures > 0 ? 1 : 0);
