#!/usr/bin/env python3
"""The one-asyncio-task-per-item pattern, as users write it (a task per page, all created up front,
then gathered), with a no-op in place of the awaited model call.

    python3 asyncio_per_item.py INPUT.jsonl OUTPUT.jsonl [--rss-limit-mib 6144]

No semaphore: on Python 3.11 an asyncio.Semaphore with n waiters costs O(n) per acquire (its
locked() scans the waiters), which makes 1M tasks take hours; the peak is reached while the tasks
are created, before any runs, so a semaphore would not change it.

Each task writes its own result when done, so results do not pile up: what grows is the tasks.
--rss-limit-mib stops creating tasks once the process holds that much (a guard for a shared
machine); the JSON line printed at the end says whether it was hit and how many tasks existed.
"""
import argparse
import asyncio
import json
import os
import resource
import sys
import time

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


async def main(args):
    out = open(args.output, "w")

    async def process(line_no, line):
        item = json.loads(line)
        await asyncio.sleep(0)  # the model call would be awaited here
        out.write(json.dumps({"id": line_no, "output": item}) + "\n")

    t0 = time.time()
    tasks, guard_hit, peak = [], False, 0
    with open(args.input) as f:
        for line_no, line in enumerate(f, 1):
            tasks.append(asyncio.create_task(process(line_no, line)))
            if line_no % 65536 == 0:
                rss = rss_bytes()
                peak = max(peak, rss)
                if rss > args.rss_limit_mib * 2 ** 20:
                    guard_hit = True
                    break
    created = len(tasks)
    peak = max(peak, rss_bytes())
    await asyncio.gather(*tasks)
    out.close()
    peak = max(peak, rss_bytes())
    print(json.dumps({"tasks": created, "guard_hit": guard_hit, "wall_s": time.time() - t0,
                      "peak_rss_bytes": max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--rss-limit-mib", type=int, default=6144)
    sys.exit(asyncio.run(main(ap.parse_args())))
