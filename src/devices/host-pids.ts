/**
 * Device PIDs in a container with a PID namespace of its own (Docker's and Kubernetes' default).
 * Recent NVIDIA drivers report the PIDs of the namespace that asks (seen on the GPU host: a
 * process that is PID 3 in the namespace and 500 on the host is listed as 3 inside and 500
 * outside); older ones report the host's alone (NVIDIA/nvidia-docker#1483), and so may other
 * vendors' drivers. With the host's, a container sees its worker as PID 57 where the driver says
 * 3141592, which in its /proc is nothing, or an unrelated process: our workers' memory was
 * nobody's (so `memory.reserve` held dispatch back for a card full of our own cache) and a driver
 * PID could name the wrong process here.
 *
 * So, in such a namespace, each provider's process listing goes through {@link HostPidMap},
 * which finds out which kind of driver it has from our own workers: once one of them (or a
 * process under it) is listed on its own card under its own PID, in a listing whose every PID is
 * a process here, the driver speaks this namespace's PIDs and its listings are taken as they are
 * from then on. Until then a driver PID becomes the PID of the worker this
 * gpupool started on that device, learned as the first PID the driver shows there that it did
 * not show before, while a worker started on the device has none yet (in start order, PIDs in
 * ascending order: the kernel hands them out rising). Every other process (another container's,
 * a worker's child) is left out: its memory still counts in the device's used memory, it just
 * has no name here. A process of another container that comes to a card in the moment between
 * one of our workers' start and its first use of the card is taken for that worker: with whole
 * cards per pod that cannot happen; on a shared card it can, and then only for that worker's
 * memory. A host PID that happens to equal our worker's PID on its card would be taken for the
 * sign of a translating driver: host PIDs of GPU processes are rarely as small as a container's.
 */
import fs from 'node:fs';
import type { Device, DeviceProcess, DeviceProvider, DeviceSample } from './device.js';

/** `PROC_PID_INIT_INO`: the first PID namespace's inode, fixed since Linux 3.8. */
const FIRST_PID_NAMESPACE = 'pid:[4026531836]';

/** Whether the drivers' PIDs are this process's: true in the first PID namespace, and where /proc does not tell (not Linux). */
export function driverPidsAreOurs(namespaceLink = '/proc/self/ns/pid'): boolean {
  try {
    return fs.readlinkSync(namespaceLink) === FIRST_PID_NAMESPACE;
  } catch {
    return true;
  }
}

/** A process this gpupool started on devices: a worker or a replica. */
export interface SpawnedOnDevices {
  readonly pid: number;
  readonly deviceUuids: readonly string[];
  /** Rising with each start: pairs workers with new driver PIDs in order. */
  readonly order: number;
}

const spawned = new Map<number, SpawnedOnDevices>();
let starts = 0;

/**
 * Notes a process started on devices (its `GPUPOOL_DEVICE_UUIDS`; `cpu` for a CPU worker, which
 * no accelerator lists); call the returned function when it exits.
 */
export function noteSpawnedOnDevices(pid: number | undefined, deviceUuids: string | undefined): () => void {
  const uuids = (deviceUuids ?? '').split(',').filter((u) => u !== '');
  if (pid === undefined || uuids.length === 0) return () => undefined;
  spawned.set(pid, { pid, deviceUuids: uuids, order: ++starts });
  return () => {
    if (spawned.get(pid)?.deviceUuids === uuids) spawned.delete(pid);
  };
}

/** The processes noted and not yet ended. */
export function spawnedOnDevices(): SpawnedOnDevices[] {
  return [...spawned.values()];
}

/** What this PID namespace's /proc says of a PID; tests stand in their own. */
export interface ProcView {
  exists(pid: number): boolean;
  parent(pid: number): number | undefined;
}

const THIS_NAMESPACE: ProcView = {
  exists: (pid) => fs.existsSync(`/proc/${pid}`),
  parent: (pid) => {
    try {
      // After the command's closing parenthesis (the command may hold spaces and parentheses): state, then the parent.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return Number.isInteger(ppid) ? ppid : undefined;
    } catch {
      return undefined;
    }
  },
};

/** Driver PIDs against our PIDs, learned listing by listing (one per provider). */
export class HostPidMap {
  /** Per device: the driver PIDs of the latest listing that showed it. */
  readonly #seen = new Map<string, Set<number>>();
  /** Per device: new driver PIDs not yet paired, kept until as many are there as workers wait. */
  readonly #pending = new Map<string, Set<number>>();
  /** Driver PID → our PID. */
  readonly #ours = new Map<number, number>();
  /** Whether the first listing, the baseline, was taken: what it holds is nobody's to learn. */
  #baselined = false;
  /** Set once a worker of ours was listed on its card under its own PID: the driver speaks this namespace's PIDs. */
  #driverSpeaksOurs = false;
  /** How many listed processes the latest listing left out (for `gpupool devices`' note). */
  leftOut = 0;

  constructor(private readonly proc: ProcView = THIS_NAMESPACE) {}

  /** Whether the driver was seen to report this namespace's PIDs. */
  get driverSpeaksOurs(): boolean {
    return this.#driverSpeaksOurs;
  }

  /**
   * The listing in this namespace's PIDs: as it is where the driver speaks them; otherwise our
   * processes under our PIDs, and nothing else.
   */
  translate(listing: readonly DeviceProcess[], processes: readonly SpawnedOnDevices[]): DeviceProcess[] {
    this.leftOut = 0;
    // CPU workers are noted too (as `cpu`): no accelerator lists them.
    const onCards = processes.filter((p) => p.deviceUuids.some((u) => u !== 'cpu'));
    this.#driverSpeaksOurs ||= this.#listsOursUnderOurPids(listing, onCards);
    if (this.#driverSpeaksOurs) return [...listing];
    const learned = this.#learnedListing(listing, onCards);
    // Nothing of ours on a card (`gpupool devices`, a pool's baseline): a PID that is a process
    // here is shown (a driver that speaks this namespace's PIDs, most likely), not relied on.
    const shown = onCards.length === 0 ? listing.filter((l) => this.proc.exists(l.pid)) : learned;
    this.leftOut = listing.length - shown.length;
    return shown;
  }

  /**
   * Whether a worker of ours, or a process under it (a wrapper's child: `bash -c`, torchrun), is
   * listed on the worker's card under its PID here, and every listed PID is a process here: a
   * host-PID driver could list a foreign process under a number that is also our worker's, but
   * not every one of its host PIDs under a number of this namespace.
   */
  #listsOursUnderOurPids(listing: readonly DeviceProcess[], onCards: readonly SpawnedOnDevices[]): boolean {
    if (onCards.length === 0 || !listing.every((l) => this.proc.exists(l.pid))) return false;
    return listing.some((l) => onCards.some((p) => p.deviceUuids.includes(l.deviceUuid) && this.#descendsFrom(l.pid, p.pid)));
  }

  /** Whether `pid` is `ancestor` or a process under it, by the parents in /proc. */
  #descendsFrom(pid: number, ancestor: number): boolean {
    for (let current: number | undefined = pid, steps = 0; current !== undefined && current > 0 && steps < 64; steps++) {
      if (current === ancestor) return true;
      current = this.proc.parent(current);
    }
    return false;
  }

  #learnedListing(listing: readonly DeviceProcess[], processes: readonly SpawnedOnDevices[]): DeviceProcess[] {
    // A mapping lasts as long as our process: one listing without it (a driver hiccup) forgets nothing.
    const alive = new Set(processes.map((p) => p.pid));
    for (const [driverPid, ourPid] of this.#ours) if (!alive.has(ourPid)) this.#ours.delete(driverPid);

    const byDevice = new Map<string, Set<number>>();
    for (const p of listing) byDevice.set(p.deviceUuid, (byDevice.get(p.deviceUuid) ?? new Set()).add(p.pid));
    for (const [uuid, pids] of byDevice) this.#learn(uuid, pids, processes);
    this.#baselined = true;

    const out: DeviceProcess[] = [];
    for (const p of listing) {
      const ours = this.#ours.get(p.pid);
      if (ours !== undefined) out.push({ ...p, pid: ours });
    }
    return out;
  }

  #learn(uuid: string, pids: Set<number>, processes: readonly SpawnedOnDevices[]): void {
    const seen = this.#seen.get(uuid) ?? new Set<number>();
    const pending = new Set([...(this.#pending.get(uuid) ?? [])].filter((pid) => pids.has(pid) && !this.#ours.has(pid)));
    if (this.#baselined) for (const pid of pids) if (!seen.has(pid) && !this.#ours.has(pid)) pending.add(pid);
    this.#seen.set(uuid, new Set(pids));
    // A worker waits on a device until a driver PID of its own is listed there: one spanning two
    // cards may run a process on each (tensor parallel), and each is learned on its card.
    const here = new Set([...pids].flatMap((pid) => (this.#ours.has(pid) ? [this.#ours.get(pid)!] : [])));
    const waiting = processes.filter((p) => p.deviceUuids.includes(uuid) && !here.has(p.pid)).sort((a, b) => a.order - b.order);
    // Paired only once as many new PIDs are there as workers wait: the second worker started may
    // reach the card first, and the kernel's rising PIDs follow the start order, not the arrival.
    // A new PID that is a process here but under none of the waiting workers is someone else's
    // (with a driver speaking our PIDs, a tenant of this namespace that came first): not theirs.
    for (const pid of pending) if (this.proc.exists(pid) && !waiting.some((w) => this.#descendsFrom(pid, w.pid))) pending.delete(pid);
    if (waiting.length > 0 && pending.size >= waiting.length) {
      const fresh = [...pending].sort((a, b) => a - b);
      for (let i = 0; i < waiting.length; i++) this.#ours.set(fresh[i], waiting[i].pid);
      for (const pid of fresh.slice(0, waiting.length)) pending.delete(pid);
    }
    // Nobody waits: what came is not ours (another container's, a worker's child), and stays so.
    this.#pending.set(uuid, waiting.length > 0 ? pending : new Set());
  }
}

/**
 * A provider whose process listing is in this PID namespace's terms ({@link HostPidMap}). Its
 * first read (of devices or processes) also reads the processes once as a baseline, given to
 * nobody: a pool lists devices before it starts a worker.
 */
export class HostPidTranslatingProvider implements DeviceProvider {
  #baseline?: Promise<unknown>;

  readonly #map: HostPidMap;

  constructor(
    private readonly inner: DeviceProvider,
    private readonly started: () => readonly SpawnedOnDevices[] = spawnedOnDevices,
    proc?: ProcView,
  ) {
    this.#map = new HostPidMap(proc);
  }

  get vendor(): DeviceProvider['vendor'] {
    return this.inner.vendor;
  }

  get source(): string {
    return this.inner.source;
  }

  async list(): Promise<Device[]> {
    const devices = await this.inner.list();
    await this.#takeBaseline();
    return devices;
  }

  sample(): Promise<DeviceSample[]> {
    return this.inner.sample();
  }

  async processes(): Promise<DeviceProcess[]> {
    await this.#takeBaseline();
    return this.#map.translate(await this.inner.processes(), this.started());
  }

  /** How many processes the latest listing left out: their PIDs are not this namespace's. */
  get leftOut(): number {
    return this.#map.leftOut;
  }

  /** Once: the devices' processes with no worker to give them to, whatever was started before. */
  #takeBaseline(): Promise<unknown> {
    this.#baseline ??= this.inner.processes().then((listing) => this.#map.translate(listing, []), () => undefined);
    return this.#baseline;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** How many processes the providers' latest listings left out as not this namespace's (0 outside a container). */
export function processesLeftOut(providers: readonly DeviceProvider[]): number {
  return providers.reduce((n, p) => n + (p instanceof HostPidTranslatingProvider ? p.leftOut : 0), 0);
}
