source .gpu-host/env.sh && cd .gpu-host/app
{ nvidia-smi topo -m; lscpu; for b in $(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader); do d=$(echo $b | tr A-Z a-z | sed 's/^0000//'); echo "$b local_cpulist $(cat /sys/bus/pci/devices/$d/local_cpulist)"; done; } > $OUT/host.txt 2>&1
( while true; do for p in $(pgrep -f gpupool_worker.py); do echo "$(date +%T) $p $(grep Cpus_allowed_list /proc/$p/status | cut -f2) $(tr '\0' '\n' < /proc/$p/environ | grep '^GPUPOOL_CPUS=\|^GPUPOOL_WORKER_ID=' | tr '\n' ' ')"; done; sleep 3; done ) > $OUT/worker-affinity.txt 2>&1 &
for c in none auto none auto; do
  d=/tmp/run-$c-$SECONDS
  SCALING_GPUPOOL_CPUS=$([ $c = auto ] && echo auto) OUT=$d bash bench/gpu/scaling/run.sh --ns 4 --workloads resnet50 --methods direct,gpupool --budget 70 > /dev/null 2>&1
  n=$(basename $d); cp $d/scaling-results.json $OUT/$n.json; { echo "== $n"; cat $d/scaling-progress.log; } >> $OUT/progress-all.log
  echo "== $n"; grep "items/s over" $d/scaling-progress.log
done
