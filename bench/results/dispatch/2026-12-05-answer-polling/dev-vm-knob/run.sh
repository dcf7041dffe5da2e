cd /work/main
for i in 1 2; do
  for p in 0 100; do
    GPUPOOL_ANSWER_POLL_US=$p node --import tsx bench/dispatch/dispatch-bench.ts python > /tmp/ab6/python-poll$p-$i.json 2>/dev/null
  done
done
for p in 0 100; do
  GPUPOOL_ANSWER_POLL_US=$p node --import tsx bench/dispatch/dispatch-bench.ts node > /tmp/ab6/node-poll$p-1.json 2>/dev/null
  GPUPOOL_ANSWER_POLL_US=$p node --import tsx bench/serve/serve-bench.ts > /tmp/ab6/serve-poll$p.json 2>/dev/null
done
echo done
