"""Holds most of one card's free memory, like another tenant. Usage: hog.py LEAVE_GIB SECONDS"""
import sys
import time

import torch

leave = float(sys.argv[1]) * 2**30
free, _ = torch.cuda.mem_get_info(0)
block = torch.empty((int(free - leave),), dtype=torch.uint8, device="cuda:0")
print(f"hog holds {block.numel() / 2**30:.1f} GiB, leaves {leave / 2**30:.1f} GiB", flush=True)
time.sleep(float(sys.argv[2]))
