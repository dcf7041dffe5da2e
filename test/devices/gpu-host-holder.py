# Holds device memory until its parent goes away; prints what the process sees so pinning can be checked.
import os, sys, time, torch
parent = os.getppid()
mib = int(sys.argv[1])
x = torch.empty(mib * 2**20, dtype=torch.uint8, device='cuda')
torch.cuda.synchronize()
p = torch.cuda.get_device_properties(0)
print(f"ready count={torch.cuda.device_count()} name={p.name} uuid={p.uuid}", flush=True)
for _ in range(1200):
    if os.getppid() != parent:
        break
    time.sleep(0.5)
