import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { call, cpuModel, startServer, type RunningServer } from './serve-helpers.js';

const CHROMIUM = process.env.GPUPOOL_CHROMIUM ?? '/usr/bin/chromium';
/** Always written here; `GPUPOOL_UPDATE_SCREENSHOT=1` also writes docs/dashboard.png (the committed one). */
const SHOT = path.join(ROOT, 'out', 'dashboard.png');

let server: RunningServer;
let browser: Browser | undefined;
let loading = true;
let load: Promise<void> = Promise.resolve();
after(async () => {
  loading = false;
  await load;
  await browser?.close();
  await server?.stop();
});
const pids = killAtEnd();

before(async () => {
  server = await startServer(
    cpuModel('echo', 'noop_worker.py', '    workers_per_device: 2\n    batch: { max: 32, timeout: 2ms }\n') + cpuModel('ocr', 'slow_worker.py', '    batch: { max: 8, timeout: 5ms }\n'),
    [],
    { pids },
  );
  // Live traffic for the page to show: clients on both models, a job, and one request that misses its deadline.
  load = (async () => {
    const client = async (model: string, inputs: unknown[]) => {
      while (loading) await call(server.url, 'POST', `/v1/models/${model}/infer`, { inputs }).catch(() => undefined);
    };
    await Promise.all([client('echo', Array.from({ length: 16 }, (_, i) => ({ i }))), client('echo', [{ one: 1 }]), client('ocr', [{ sleep_ms: 10 }, { sleep_ms: 10 }])]);
  })();
  await call(server.url, 'POST', '/v1/jobs', { model: 'echo', inputs: Array.from({ length: 5000 }, (_, i) => ({ i })) });
  await call(server.url, 'POST', '/v1/models/ocr/infer', { inputs: [{ sleep_ms: 500 }], timeout_ms: 50 });
  browser = await chromium.launch({ executablePath: CHROMIUM });
});

test('the dashboard draws devices, workers, models, the throughput chart and errors with live numbers', async () => {
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(server.url + '/');

  // Wait for snapshots that carry traffic: the chart's newest point is above zero.
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-test=chart]')?.dataset.latest ?? 0) > 0, undefined, { timeout: 30_000 });
  assert.equal(await page.textContent('[data-test=status] .label'), 'ready');

  const devices = await page.$$eval('[data-test=device-card]', (cards) => cards.map((c) => ({ key: (c as HTMLElement).dataset.device, bar: c.querySelector('[data-test=membar]')?.children.length, text: c.textContent })));
  const cpu = devices.find((d) => d.key === 'cpu:0');
  assert.ok(cpu, JSON.stringify(devices));
  assert.equal(cpu.bar, 2, 'the memory bar has a workers part and an others part');
  assert.match(cpu.text ?? '', /\d+(\.\d)? (GiB|MiB) \/ \d+(\.\d)? GiB used/);

  const workers = await page.$$eval('[data-test=worker-row]', (rows) => rows.map((r) => ({ id: (r as HTMLElement).dataset.worker, cells: [...r.querySelectorAll('td')].map((td) => td.textContent ?? '') })));
  assert.deepEqual(workers.map((w) => w.id).sort(), ['echo/cpu:0/0', 'echo/cpu:0/1', 'ocr/cpu:0/0']);
  for (const w of workers) {
    assert.match(w.cells[1], /^(ready|busy)$/, `${w.id} state`);
    assert.match(w.cells[2], /^\d+ \/ (32|8)/, `${w.id} batch limit / max`);
    assert.match(w.cells[3], /^[\d.]+ (MiB|GiB)$/, `${w.id} memory (its resident set on the CPU)`);
    assert.match(w.cells[4], /^[\d,.]+$/, `${w.id} items/s`);
    assert.match(w.cells[5], /^\d+$/, `${w.id} restarts`);
  }
  assert.ok(workers.some((w) => Number(w.cells[4].replace(/,/g, '')) > 0), 'some worker shows live items/s');

  const rate = await page.textContent('[data-test=total-rate]');
  assert.match(rate ?? '', /^[\d,.]+\/s$/);
  assert.equal(await page.$$eval('[data-test=model-row]', (rows) => rows.length), 2);
  assert.match((await page.textContent('[data-test=errors]')) ?? '', /GPUPOOL_E_DEADLINE/);

  // The canvas holds a drawn chart, not a blank rectangle.
  const inked = await page.$eval('#chart', (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  });
  assert.ok(inked > 1000, `the chart drew ${inked} pixels`);

  // Another snapshot arrives: the page is live, not a one-off render.
  const first = await page.getAttribute('body', 'data-updated');
  await page.waitForFunction((t) => document.body.dataset.updated !== t, first, { timeout: 10_000 });
  assert.deepEqual(consoleErrors, []);

  // For the committed picture, let the chart gather some history first.
  if (process.env.GPUPOOL_UPDATE_SCREENSHOT === '1') await page.waitForTimeout(25_000);
  fs.mkdirSync(path.dirname(SHOT), { recursive: true });
  await page.screenshot({ path: SHOT, fullPage: true });
  if (process.env.GPUPOOL_UPDATE_SCREENSHOT === '1') fs.copyFileSync(SHOT, path.join(ROOT, 'docs', 'dashboard.png'));
  assert.ok(fs.statSync(SHOT).size > 10_000);
});
