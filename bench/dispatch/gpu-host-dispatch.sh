# dispatch path on the GPU host's CPUs, answer polling off (0) and on (100), alternated
cd .gpu-host/app/bench/dispatch || exit 1
R=$OUT/dispatch; mkdir -p $R
nproc > $R/nproc.txt; lscpu > $R/lscpu.txt
for i in 1 2 3; do
  for p in 0 100; do
    GPUPOOL_ANSWER_POLL_US=$p node dispatch-bench.mjs python > $R/python-poll$p-$i.json 2>>$R/err.txt
  done
done
for i in 1 2; do
  for p in 0 100; do
    GPUPOOL_ANSWER_POLL_US=$p node dispatch-bench.mjs node > $R/node-poll$p-$i.json 2>>$R/err.txt
    GPUPOOL_ANSWER_POLL_US=$p node latency-trace.mjs 5000 python > $R/trace-python-poll$p-$i.json 2>>$R/err.txt
  done
done
cd $OUT && tar czf dispatch.tgz dispatch && rm -rf dispatch
