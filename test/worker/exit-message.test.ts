import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitMessage, exitSummary } from '../../src/worker/index.js';

const PYTHON = `Traceback (most recent call last):
  File "/srv/worker.py", line 12, in predict
    out = self.model(batch)
RuntimeError: CUDA driver initialisation failed
`;

const NODE = `/srv/worker.mjs:3
  throw new Error('tokenizer file missing');
  ^

Error: tokenizer file missing
    at file:///srv/worker.mjs:3:9
    at ModuleJob.run (node:internal/modules/esm/module_job:234:25)

Node.js v20.19.0
`;

test('the summary of an exit names the last line of stderr that says what went wrong, and the log', () => {
  const python = exitMessage([undefined, 'worker m/cuda:0/0 exited with code 1'], PYTHON.trimEnd());
  assert.equal(exitSummary(python, '/logs/m.log'), 'worker m/cuda:0/0 exited with code 1; stderr ends: RuntimeError: CUDA driver initialisation failed (log: /logs/m.log)');
  const node = exitMessage(['worker m/cpu:0/0 exited with code 1'], NODE.trimEnd());
  assert.equal(exitSummary(node), 'worker m/cpu:0/0 exited with code 1; stderr ends: Error: tokenizer file missing');
});

test('without stderr the notes stand alone; a cause the notes already give is not said twice; only frames: the last of them', () => {
  assert.equal(exitSummary(exitMessage(['worker m/cpu:0/0 was killed by SIGKILL'], ''), '/l'), 'worker m/cpu:0/0 was killed by SIGKILL (log: /l)');
  const fatal = exitMessage(['fatal device error: Fatal: an illegal memory access', 'worker m/cuda:0/0 exited with code 70'], 'gpupool.errors.Fatal: an illegal memory access');
  assert.equal(exitSummary(fatal), 'fatal device error: Fatal: an illegal memory access; worker m/cuda:0/0 exited with code 70');
  assert.equal(exitSummary(exitMessage(['replica r exited with code 2'], '  at frame one\n  at frame two')), 'replica r exited with code 2; stderr ends: at frame two');
});

test("a cause is left out only when a note ends with it, not when its text is found anywhere in the notes ('KeyError: 0' in 'cpu:0/0')", () => {
  const tb = 'Traceback (most recent call last):\n  File "w.py", line 3, in setup\n';
  for (const last of ['KeyError: 0', 'IndexError: 1', 'RuntimeError: killed', 'Killed']) {
    assert.equal(exitSummary(exitMessage(['worker m/cpu:0/0 was killed by SIGKILL'], `${tb}${last}`)), `worker m/cpu:0/0 was killed by SIGKILL; stderr ends: ${last}`);
  }
  const fatal = exitMessage(['fatal device error: RuntimeError: CUDA error: unknown error; compile with TORCH_USE_CUDA_DSA', 'worker m/cuda:0/0 exited with code 70'], `${tb}torch.AcceleratorError: CUDA error: unknown error; compile with TORCH_USE_CUDA_DSA`);
  assert.equal(exitSummary(fatal), 'fatal device error: RuntimeError: CUDA error: unknown error; compile with TORCH_USE_CUDA_DSA; worker m/cuda:0/0 exited with code 70');
});
