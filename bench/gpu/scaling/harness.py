"""One process per card for the methods that are not gpupool: the direct loop, scheme 1 (its
own shard of the input) and scheme 2 (a consumer of a multiprocessing queue).

The process is pinned as gpupool pins its workers (CUDA_VISIBLE_DEVICES set before torch is
imported), loads the three models once, then runs phases on command. Every phase starts at a
barrier shared by the N processes, so N cards start together; the rows of the batch log go
back to the driver with the phase's result.
"""
import json
import os
import time
import traceback


def main(rank, device_index, smoke, conn, barrier, queues, results):
    if not smoke:
        os.environ["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
        os.environ["CUDA_VISIBLE_DEVICES"] = str(device_index)
    import torch
    import workloads
    from batch_log import BatchLog

    if smoke:
        torch.set_num_threads(1)
    device = "cpu" if smoke else "cuda:0"
    works, failed = {}, {}
    t = time.time()
    for name in workloads.WORKLOADS:
        try:
            works[name] = workloads.build(name, device)
        except Exception:
            failed[name] = traceback.format_exc()
    name = "cpu" if smoke else torch.cuda.get_device_name(0)
    results.put(("ready", rank, {"load_s": time.time() - t, "device": name, "torch": str(torch.__version__), "failed": failed}))

    while True:
        cmd = conn.recv()
        if cmd[0] == "quit":
            break
        kind, workload, params = cmd
        log = BatchLog()
        info = {}
        try:
            if workload in failed:
                raise RuntimeError("model failed to load:\n" + failed[workload])
            work = works[workload]
            if kind == "direct":
                barrier.wait(timeout=120)
                info["t_go"] = time.time()
                work.direct(params["seconds"], log.add)
                if params.get("full_batch_s"):
                    full = BatchLog()
                    work.direct(params["full_batch_s"], full.add, full_batch=True)
                    info["full_batch_rows"] = full.rows
            elif kind == "shard":
                todo = workloads.batches(workload, params["start"], params["count"])
                if workload == "encoder":
                    todo = list(todo)  # a shard file read up front: lengths are known before the clock starts
                _consume(work, todo, log, barrier, params, info)
            elif kind == "queue":
                _consume(work, _from_queue(queues[workload]), log, barrier, params, info)
            else:
                raise ValueError("unknown phase kind %r" % kind)
        except Exception:
            info["error"] = traceback.format_exc()
        results.put(("done", rank, {"rows": log.rows, "phase": params.get("phase"), **info}))


def _from_queue(q):
    while True:
        batch = q.get()
        if batch is None:
            return
        yield batch


def _consume(work, todo, log, barrier, params, info):
    """Predict every batch and write its outputs, as a user's script would; stop at the cap."""
    barrier.wait(timeout=120)
    t_go = info["t_go"] = time.time()
    cap = params["cap_s"]
    with open(params["out"], "w") as out:
        for batch in todo:
            t0 = time.time()
            outputs, cost = work.predict(batch)
            t1 = time.time()
            log.add(t0, t1, len(batch), cost)
            out.write(json.dumps(outputs))
            out.write("\n")
            if t1 - t_go > cap:
                info["capped"] = True
                break
