// --api-key, --max-body-size, --served-model-name, and `serve` with no model (the built-in demo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, postJson, DEMO_GGUF } from './harness.mjs';

test('an API key guards the /v1 routes; the body size is bounded; several served names', async () => {
  const server = await startServer(['--model', DEMO_GGUF, '--api-key', 'sk-test-123', '--max-body-size', '4KiB',
                                    '--served-model-name', 'demo-a', '--served-model-name', 'demo-b']);
  try {
    const messages = [{ role: 'user', content: 'What is 1 + 1?' }];
    await assert.rejects(server.client('wrong').chat.completions.create({ model: 'demo-a', messages, max_tokens: 2 }),
                         (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    const noKey = await postJson(server.url + '/v1/chat/completions', { messages });
    assert.equal(noKey.status, 401);
    assert.match(noKey.json.error.message, /API key/);
    const models = await fetch(server.url + '/v1/models');
    assert.equal(models.status, 401);

    const client = server.client('sk-test-123');
    const ok = await client.chat.completions.create({ model: 'demo-b', messages, max_tokens: 2 });
    assert.equal(ok.model, 'demo-b');
    assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['demo-a', 'demo-b']);
    assert.equal((await fetch(server.url + '/health')).status, 200, '/health needs no key');

    const big = await postJson(server.url + '/v1/chat/completions',
                               { messages: [{ role: 'user', content: 'x'.repeat(8000) }] }, { Authorization: 'Bearer sk-test-123' });
    assert.equal(big.status, 413);
    assert.match(big.json.error.message, /larger than this server accepts/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('serve with no model runs the built-in demo model and says so once', async () => {
  const server = await startServer([]);
  try {
    const notice = server.stderr().match(/No model given: this is qwenrt's built-in demo/g) ?? [];
    assert.equal(notice.length, 1);
    assert.match(server.stderr(), /qwenrt serve Qwen\/Qwen3-0\.6B/);
    const client = server.client();
    assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['qwen3-demo']);
    const r = await client.chat.completions.create({
      model: 'qwen3-demo', messages: [{ role: 'user', content: 'What is 1234 + 4321?' }], temperature: 0,
    });
    assert.match(r.choices[0].message.content, / \+ 4321 = 5555\.$/);  // the right sum (the model card: it may misquote 1234)
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
