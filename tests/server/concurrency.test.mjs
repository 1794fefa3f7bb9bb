// Continuous batching seen from outside: 16 simultaneous streams of 128 tokens each, every one equal
// to its solo run, with /metrics showing them running at once; and a client that leaves frees its
// sequence. The test build sleeps a few ms after each engine step so that the overlap lasts long
// enough to be observed on a fast machine (the batch itself is real).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, metric, DEMO_GGUF } from './harness.mjs';

let server, client;
const MODEL = 'demo';

before(async () => {
  server = await startServer(['--model', DEMO_GGUF, '--served-model-name', MODEL, '--max-num-seqs', '16'], { QWENRT_STEP_DELAY_MS: '10' });
  client = server.client();
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

async function streamText(content, maxTokens) {
  const stream = await client.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content }], temperature: 0, max_tokens: maxTokens, ignore_eos: true,
    stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let usage;
  for await (const chunk of stream) {
    for (const c of chunk.choices) text += (c.delta.reasoning_content ?? '') + '|' + (c.delta.content ?? '');
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, tokens: usage.completion_tokens };
}

test('16 concurrent streams each equal their solo run, and really overlap', async () => {
  const prompts = Array.from({ length: 16 }, (_, i) => `What is ${137 * (i + 3) % 9000} + ${71 * (i + 5) % 900}?`);
  const solo = [];
  for (const p of prompts) solo.push(await streamText(p, 128));
  for (const s of solo) assert.equal(s.tokens, 128);

  let maxRunning = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const text = await (await fetch(server.url + '/metrics')).text();
      maxRunning = Math.max(maxRunning, metric(text, 'qwenrt_num_requests_running'));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const together = await Promise.all(prompts.map((p) => streamText(p, 128)));
  polling = false;
  await poller;
  for (let i = 0; i < prompts.length; ++i) {
    assert.equal(together[i].tokens, 128);
    assert.equal(together[i].text, solo[i].text, `stream ${i} differs from its solo run`);
  }
  assert.ok(maxRunning >= 8, `at most ${maxRunning} sequences were seen running at once`);
});

test('a client that disconnects stops its generation and frees its memory', async () => {
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
    { model: MODEL, messages: [{ role: 'user', content: 'What is 5 + 6?' }], max_tokens: 1500, ignore_eos: true, stream: true },
    { signal: controller.signal });
  let chunks = 0;
  try {
    for await (const _ of stream) {
      if (++chunks === 10) controller.abort();  // the SDK closes the connection
    }
  } catch {
    // an aborted stream may end with an AbortError
  }
  assert.ok(chunks >= 10);
  const before = metric(await (await fetch(server.url + '/metrics')).text(), 'qwenrt_generation_tokens_total');
  let running = 1, cache = 1;
  // With 10 ms per step the 1500 tokens would take at least 15 s: ending within 5 s is the cancel.
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && (running !== 0 || cache !== 0)) {
    const text = await (await fetch(server.url + '/metrics')).text();
    running = metric(text, 'qwenrt_num_requests_running');
    cache = metric(text, 'qwenrt_kv_cache_usage_bytes');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(running, 0, 'the sequence still runs');
  assert.equal(cache, 0, 'its cache is still held');
  const after = metric(await (await fetch(server.url + '/metrics')).text(), 'qwenrt_generation_tokens_total');
  assert.ok(after - before < 500, `generation went on after the disconnect (${after - before} more tokens)`);
});
