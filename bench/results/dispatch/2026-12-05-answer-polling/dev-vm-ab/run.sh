for i in 1 2 3; do
  for side in base new; do
    dir=/work/main; [ $side = base ] && dir=/tmp/gbase
    (cd $dir && node --import tsx bench/dispatch/dispatch-bench.ts python > /tmp/ab5/python-$side-$i.json 2>/dev/null)
  done
done
for i in 1 2; do
  for side in new base; do
    dir=/work/main; [ $side = base ] && dir=/tmp/gbase
    (cd $dir && node --import tsx bench/dispatch/dispatch-bench.ts node > /tmp/ab5/node-$side-$i.json 2>/dev/null)
  done
done
for i in 1 2; do
  for side in base new; do
    dir=/work/main; [ $side = base ] && dir=/tmp/gbase
    (cd $dir && node --import tsx bench/dispatch/latency-trace.ts 5000 python > /tmp/ab5/trace-python-$side-$i.json 2>/dev/null)
    (cd $dir && node --import tsx bench/dispatch/latency-trace.ts 5000 node > /tmp/ab5/trace-node-$side-$i.json 2>/dev/null)
  done
done
for i in 1 2; do
  for side in new base; do
    dir=/work/main; [ $side = base ] && dir=/tmp/gbase
    (cd $dir && node --import tsx bench/serve/serve-bench.ts > /tmp/ab5/serve-$side-$i.json 2>/dev/null)
    (cd /tmp/mlp && /usr/bin/time -f "%e s %U user %S sys %M KB" node $dir/dist/cli/main.js run --fresh -c mlp.yaml -i items-10m.jsonl -o out.jsonl > /tmp/ab5/cli-$side-$i.txt 2>&1)
  done
done
echo done
