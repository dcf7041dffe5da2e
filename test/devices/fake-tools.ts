import '../helpers/clean-env.js'; // first: the runner's GPU and gpupool variables never reach a test
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from './fixtures.js';

/**
 * Writes fake vendor tools into a fresh folder: shell scripts that check they were called
 * with exactly the arguments gpupool passes and print real captured outputs. The providers
 * then run through their real exec path.
 */
export async function fakeTools(opts: { nvidiaApps?: string } = {}): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'gpupool-fake-tools-'));
  const script = async (name: string, body: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  };
  const cat = (...names: string[]): string => `cat ${names.map((n) => `'${fixturePath(n)}'`).join(' ')}`;
  const appsFile = join(dir, 'apps.csv');
  await writeFile(appsFile, opts.nvidiaApps ?? '');
  const nvidia = await script(
    'nvidia-smi',
    `[ "$2" = "--format=csv,noheader,nounits" ] || { echo "bad format: $*" >&2; exit 9; }
case "$1" in
  --query-gpu=index,uuid,name,pci.bus_id,memory.total,memory.used,memory.free,utilization.gpu) ${cat('nvidia-smi/h200x2-busy-gpus.csv')} ;;
  --query-compute-apps=pid,gpu_uuid,used_memory) cat '${appsFile}' ;;
  *) echo "unexpected: $*" >&2; exit 9 ;;
esac`,
  );
  const npuCalls = join(dir, 'npu-smi.calls');
  const npu = await script(
    'npu-smi',
    `[ "$*" = "info" ] || { echo "unexpected: $*" >&2; exit 9; }\necho call >> '${npuCalls}'\n${cat('npu-smi/910b2c-2npu-one-process.txt')}`,
  );
  const rocm = await script(
    'rocm-smi',
    `case "$*" in
  "--showmeminfo vram --showproductname --showuniqueid --showuse --showbus --json") ${cat('rocm-smi/rx7900xt-showproductname-showuse-showmeminfo.json')} ;;
  "--showpids --showpidgpus") ${cat('rocm-smi/mi300a-showpids-daemon.txt', 'rocm-smi/mi300x-showpidgpus.txt')} ;;
  *) echo "unexpected: $*" >&2; exit 9 ;;
esac`,
  );
  const broken = await script('broken-smi', `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." ; exit 9`);
  const slow = await script('slow-smi', 'sleep 5');
  return { dir, nvidia, npu, npuCalls, rocm, broken, slow };
}

/** An environment where only the fake tools exist: no PATH, no NVML. */
export function fakeEnv(tools: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '',
    GPUPOOL_NVML_LIB: '/nonexistent/libnvidia-ml.so.1',
    GPUPOOL_NVIDIA_SMI: tools.nvidia,
    GPUPOOL_NPU_SMI: tools.npu,
    GPUPOOL_ROCM_SMI: tools.rocm,
    ...extra,
  };
}
