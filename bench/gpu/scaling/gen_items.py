"""Writes items start…start+count-1 of a workload as JSONL on stdout (gpupool's input, `-i -`).

    python3 gen_items.py WORKLOAD START COUNT

A separate process, so making the input costs the driver nothing; a full pipe makes it wait
(gpupool reads only as fast as it admits). It stops quietly when the reader goes away.
"""
import sys

from workloads import tokens_of


def main():
    workload, start, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = sys.stdout.buffer
    end, step = start + count, 65536
    try:
        for a in range(start, end, step):
            r = range(a, min(a + step, end))
            if workload == "encoder":
                text = "".join('{"seed":%d,"tokens":%d}\n' % (i, tokens_of(i)) for i in r)
            else:
                text = "".join('{"seed":%d}\n' % i for i in r)
            out.write(text.encode())
        out.flush()
    except BrokenPipeError:
        sys.stderr.close()  # nothing to say: the benchmark stopped reading


if __name__ == "__main__":
    main()
