// The reports of batches a worker answered as failed are left out of the stderr its exit message
// names as the cause; what it wrote before and after them, and a fatal report, stay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnsweredFailures } from '../../src/worker/answered-failures.js';

function kept(stderr: string): string[] {
  const answered = new AnsweredFailures();
  return stderr.split('\n').filter((line) => !answered.has(line));
}

test('an answered failure, chained or cut at its start, is left out; other lines and a fatal report stay', () => {
  const stderr = [
    'loading weights',
    'gpupool: batch 4 failed (batch):',
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 9, in predict',
    '    raise KeyError(k)',
    "KeyError: 'page'",
    '',
    'During handling of the above exception, another exception occurred:',
    '',
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 11, in predict',
    'ValueError: bad page 1',
    'gpupool: batch 9 failed (oom):',
    '…ine 40, in forward',
    '    x = self.conv(x)',
    'gpupool.errors.OutOfMemory: CUDA out of memory',
    'decoder thread: segfault in libjpeg',
    'gpupool: batch 12 failed (fatal):',
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 9, in predict',
    'RuntimeError: CUDA error: an illegal memory access was encountered',
  ].join('\n');
  assert.deepEqual(kept(stderr), [
    'loading weights',
    'decoder thread: segfault in libjpeg',
    'gpupool: batch 12 failed (fatal):',
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 9, in predict',
    'RuntimeError: CUDA error: an illegal memory access was encountered',
  ]);
});

test('an answered exception group (Python 3.11+, every line indented) ends its report: a crash traceback after it stays', () => {
  const group = [
    '  + Exception Group Traceback (most recent call last):',
    '  |   File "/srv/w.py", line 10, in predict',
    '  | ExceptionGroup: several (2 sub-exceptions)',
    '  +-+---------------- 1 ----------------',
    '    | ValueError: a',
    '    | second line of a',
    '    +---------------- 2 ----------------',
    "    | KeyError: 'b'",
    '    +------------------------------------',
  ];
  const crash = [
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 15, in predict',
    'RuntimeError: the real cause',
  ];
  const stderr = [
    'gpupool: batch 1 failed (batch):',
    ...group,
    'gpupool: batch 2 failed (batch):',
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 4, in f',
    "KeyError: 'k'",
    '',
    'The above exception was the direct cause of the following exception:',
    '',
    ...group,
    '',
    'During handling of the above exception, another exception occurred:',
    '',
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 16, in predict',
    'RuntimeError: after group',
    'gpupool: batch 3 failed (oom):',
    '…-------- 1 ----------------',
    '    | OutOfMemory: CUDA out of memory',
    '    +------------------------------------',
    ...crash,
  ].join('\n');
  assert.deepEqual(kept(stderr), crash);
});

test('a header that counts its lines leaves out exactly those: a message of several lines, then the real cause, which stays', () => {
  const stderr = [
    'gpupool: batch 5 failed (batch), 4 lines:',
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 9, in predict',
    'ValueError: bad page 5',
    'the header of page 5 is cut',
    'gpupool: batch 6 failed (oom), 1 line:',
    'gpupool.errors.OutOfMemory: CUDA out of memory',
    'decoder thread: segfault in libjpeg',
    'gpupool: batch 7 failed (fatal), 2 lines:',
    'Traceback (most recent call last):',
    'RuntimeError: CUDA error: an illegal memory access was encountered',
  ].join('\n');
  assert.deepEqual(kept(stderr), [
    'decoder thread: segfault in libjpeg',
    'gpupool: batch 7 failed (fatal), 2 lines:',
    'Traceback (most recent call last):',
    'RuntimeError: CUDA error: an illegal memory access was encountered',
  ]);
});

test('a header written after a line left without an end (a progress bar redrawn with \\r) is still a header: its report is left out', () => {
  // tqdm and the like write `\r 3/10 …` to stderr with no line end, so the SDK's header, which
  // starts where the bar stopped, shares its line; it was not read as a header, and the answered
  // exception was named as the cause of a later crash.
  const stderr = [
    '\r  1/3 itemsgpupool: batch 5 failed (batch), 3 lines:',
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 9, in predict',
    'ValueError: bad page 5',
    '\r  2/3 itemsgpupool: batch 6 failed (oom):',
    'Traceback (most recent call last):',
    '  File "/srv/w.py", line 9, in predict',
    'gpupool.errors.OutOfMemory: CUDA out of memory',
    'decoder thread: segfault in libjpeg',
    '\r  3/3 itemsgpupool: batch 7 failed (fatal), 2 lines:',
    'Traceback (most recent call last):',
    'RuntimeError: CUDA error: an illegal memory access was encountered',
  ].join('\n');
  assert.deepEqual(kept(stderr), [
    'decoder thread: segfault in libjpeg',
    '\r  3/3 itemsgpupool: batch 7 failed (fatal), 2 lines:',
    'Traceback (most recent call last):',
    'RuntimeError: CUDA error: an illegal memory access was encountered',
  ]);
});
