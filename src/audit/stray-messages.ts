import { formatBytes } from '../config/index.js';

/** The variable that decides which cards a process of this kind sees. */
const VISIBILITY_VARIABLE: Readonly<Record<string, string>> = {
  cuda: 'CUDA_VISIBLE_DEVICES',
  npu: 'ASCEND_RT_VISIBLE_DEVICES',
  rocm: 'ROCR_VISIBLE_DEVICES/HIP_VISIBLE_DEVICES',
};

function variableFor(deviceKey: string): string {
  return VISIBILITY_VARIABLE[deviceKey.split(':')[0]] ?? 'the visibility variable';
}

function givenText(given: readonly string[]): string {
  const accelerators = given.filter((k) => !k.startsWith('cpu:'));
  return accelerators.length === 0 ? 'the CPU only' : accelerators.join(', ');
}

function pidList(pids: readonly number[]): string {
  return `PID${pids.length > 1 ? 's' : ''} ${pids.join(', ')}`;
}

export interface WrongDeviceFacts {
  readonly worker: string;
  readonly workerPid?: number;
  readonly deviceKey: string;
  readonly given: readonly string[];
  readonly pids: readonly number[];
  readonly children: readonly number[];
  readonly usedMemory: number;
}

/** The message and remedy of a worker, or a child of one, on a device it was not given. */
export function wrongDeviceText(s: WrongDeviceFacts): { message: string; remedy: string } {
  const variable = variableFor(s.deviceKey);
  const held = `holds ${formatBytes(s.usedMemory)} on ${s.deviceKey}, a device it was not given (it was given ${givenText(s.given)})`;
  const workerItself = s.children.length < s.pids.length;
  if (!workerItself) {
    const of = s.workerPid === undefined ? '' : `, the worker is PID ${s.workerPid}`;
    return {
      message: `stray: a child of worker ${s.worker} (${pidList(s.children)}${of}) ${held}`,
      remedy: `The worker starts a process with ${variable} reset or changed: pass the worker's environment on unchanged to its children, and inside, address the card it was given as device 0. \`--on-stray kill\` kills such processes as they appear.`,
    };
  }
  return {
    message: `stray: worker ${s.worker} (${pidList(s.pids)}) ${held}`,
    remedy: `The worker's code or a library changes ${variable} or picks a card by number: leave ${variable} as gpupool sets it and use device 0, which is the card the worker was given.`,
  };
}

export interface OverBudgetFacts {
  readonly worker: string;
  readonly deviceKey: string;
  readonly pids: readonly number[];
  readonly children: readonly number[];
  readonly usedMemory: number;
  readonly memoryLimit: number;
}

/** The message and remedy of a worker tree holding more than its `memory.limit` on a device. */
export function overBudgetText(s: OverBudgetFacts): { message: string; remedy: string } {
  const who = s.children.length > 0 ? `worker ${s.worker} and its children hold` : `worker ${s.worker} holds`;
  return {
    message: `stray: ${who} ${formatBytes(s.usedMemory)} on ${s.deviceKey} (${pidList(s.pids)}), above its memory.limit of ${formatBytes(s.memoryLimit)}`,
    remedy: 'Raise `memory.limit`, lower `batch.max`, or find what grows in the worker (its log); memory its child processes hold counts too.',
  };
}
