// The OpenAI Node SDK against `qwenrt serve` on loopback, with the demo model: chat (whole and
// streamed), the reasoning split, both Qwen tool-call forms, tool_choice, stop strings, logprobs,
// completions, tokenize/detokenize, metrics, and the errors. Replies that a tiny model cannot be
// relied on to write come from the test build's scripted-reply seam (the model still runs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, postJson, collectChat, metric, DEMO_GGUF } from './harness.mjs';

const SCRIPT = {
  'SCRIPT-REASONING': '<think>\nFirst add the ones.\n</think>\n\nThe answer is 55.',
  'SCRIPT-JSON-TOOL': '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>',
  'SCRIPT-TWO-TOOLS':
    'Let me check both.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n' +
    '<tool_call>\n{"name": "convert_units", "arguments": {"value": 3, "from": "km", "to": "mi"}}\n</tool_call>',
  'SCRIPT-XML-TOOL':
    '<tool_call>\n<function=convert_units>\n<parameter=value>\n3.5\n</parameter>\n<parameter=from>\nkm\n</parameter>\n' +
    '<parameter=to>\nmi\n</parameter>\n</function>\n</tool_call>',
  'SCRIPT-MALFORMED': '<tool_call>\n{"name": "get_weather", "arguments": {"city": \n</tool_call>',
  'SCRIPT-NAMED': '{"city": "Oslo"}}\n</tool_call>',
  'SCRIPT-STOP': 'one two STOP three',
};

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'The current weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] },
    },
  },
  {
    type: 'function',
    function: {
      name: 'convert_units',
      description: 'Convert a value between units',
      parameters: {
        type: 'object',
        properties: { value: { type: 'number' }, from: { type: 'string' }, to: { type: 'string' } },
        required: ['value', 'from', 'to'],
      },
    },
  },
];

let server, client;
const MODEL = 'qwen3-demo-q8_0';  // the served name defaults to the file's name

before(async () => {
  server = await startServer(['--model', DEMO_GGUF], { QWENRT_SERVE_SCRIPT: JSON.stringify(SCRIPT) });
  client = server.client();
});
after(async () => {
  assert.equal(await server.stop(), 0, 'the server exits cleanly on SIGTERM');
});

const user = (content) => [{ role: 'user', content }];

test('models, model, health', async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), [MODEL]);
  assert.equal(list.data[0].object, 'model');
  const one = await client.models.retrieve(MODEL);
  assert.equal(one.id, MODEL);
  await assert.rejects(client.models.retrieve('nope'), (e) => e instanceof OpenAI.NotFoundError);
  const health = await fetch(server.url + '/health');
  assert.equal(health.status, 200);
});

test('a chat answer, whole and streamed, is the same answer', async () => {
  const messages = user('What is 25 + 17?');
  const whole = await client.chat.completions.create({ model: MODEL, messages, temperature: 0 });
  const msg = whole.choices[0].message;
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices[0].finish_reason, 'stop');
  assert.ok(msg.reasoning_content && msg.reasoning_content.length > 0, 'the demo model thinks first');
  assert.match(msg.content, /25 \+ 17 =/);
  assert.deepEqual(msg.tool_calls, []);
  const tok = await postJson(server.url + '/tokenize', { messages });
  assert.equal(whole.usage.prompt_tokens, tok.json.count, 'prompt tokens are the rendered prompt');
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);

  const stream = await client.chat.completions.create({
    model: MODEL, messages, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  const s = await collectChat(stream);
  assert.ok(s.roleFirst, 'the first chunk carries the role');
  assert.ok(s.chunks > 5, 'the answer arrives in many chunks');
  assert.equal(s.content, msg.content);
  assert.equal(s.reasoning, msg.reasoning_content);
  assert.equal(s.finish, 'stop');
  assert.deepEqual(s.usage, whole.usage);
});

test('/tokenize renders messages as the chat endpoint does (developer role, content parts)', async () => {
  const messages = [
    { role: 'developer', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'What is' }, { type: 'text', text: '2 + 2?' }] },
  ];
  const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 1 });
  const tok = await postJson(server.url + '/tokenize', { messages, return_token_strs: true });
  assert.equal(tok.json.count, r.usage.prompt_tokens);
  assert.match(tok.json.token_strs.join(''), /^<\|im_start\|>system\nBe brief\.<\|im_end\|>\n<\|im_start\|>user\nWhat is\n2 \+ 2\?<\|im_end\|>/);
});

test('thinking off: no reasoning, just the answer', async () => {
  const r = await client.chat.completions.create({
    model: MODEL, messages: user('What is 25 + 17?'), temperature: 0, chat_template_kwargs: { enable_thinking: false },
  });
  assert.equal(r.choices[0].message.reasoning_content, null);
  assert.match(r.choices[0].message.content, /\d/);
  assert.ok(!r.choices[0].message.content.includes('<think>'));
});

test('reasoning split of a scripted answer, whole and streamed', async () => {
  const messages = user('SCRIPT-REASONING');
  const whole = await client.chat.completions.create({ model: MODEL, messages });
  assert.equal(whole.choices[0].message.reasoning_content, 'First add the ones.');
  assert.equal(whole.choices[0].message.content, 'The answer is 55.');
  const s = await collectChat(await client.chat.completions.create({ model: MODEL, messages, stream: true }));
  assert.equal(s.reasoning, 'First add the ones.');
  assert.equal(s.content, 'The answer is 55.');
});

test('a Qwen3 JSON tool call becomes an OpenAI tool call, whole and streamed', async () => {
  const messages = user('SCRIPT-JSON-TOOL');
  const whole = await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS });
  const c = whole.choices[0];
  assert.equal(c.finish_reason, 'tool_calls');
  assert.equal(c.message.content, null);
  assert.equal(c.message.tool_calls.length, 1);
  const call = c.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.match(call.id, /^chatcmpl-tool-/);
  assert.equal(call.function.name, 'get_weather');
  assert.equal(typeof call.function.arguments, 'string');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });

  const s = await collectChat(await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS, stream: true }));
  assert.equal(s.finish, 'tool_calls');
  assert.equal(s.content, '');
  assert.equal(s.calls.length, 1);
  assert.match(s.calls[0].id, /^chatcmpl-tool-/);
  assert.equal(s.calls[0].name, 'get_weather');
  assert.equal(s.calls[0].arguments, call.function.arguments);
});

test('several calls after some text', async () => {
  const messages = user('SCRIPT-TWO-TOOLS');
  const whole = await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS });
  const m = whole.choices[0].message;
  assert.equal(m.content, 'Let me check both.');
  assert.deepEqual(m.tool_calls.map((c) => c.function.name), ['get_weather', 'convert_units']);
  assert.deepEqual(JSON.parse(m.tool_calls[1].function.arguments), { value: 3, from: 'km', to: 'mi' });
  assert.notEqual(m.tool_calls[0].id, m.tool_calls[1].id);
  const s = await collectChat(await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS, stream: true }));
  assert.equal(s.content, 'Let me check both.');
  assert.deepEqual(s.calls.map((c) => [c.name, c.arguments]), m.tool_calls.map((c) => [c.function.name, c.function.arguments]));
});

test('a Qwen3-Coder / Qwen3.5 XML call, values typed by the schema', async () => {
  const messages = user('SCRIPT-XML-TOOL');
  const whole = await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS });
  const call = whole.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'convert_units');
  assert.deepEqual(JSON.parse(call.function.arguments), { value: 3.5, from: 'km', to: 'mi' });
  const s = await collectChat(await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS, stream: true }));
  assert.equal(s.calls[0].arguments, call.function.arguments);
});

test('a malformed call comes back as content, never an error', async () => {
  const messages = user('SCRIPT-MALFORMED');
  const whole = await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS });
  assert.equal(whole.choices[0].message.content, SCRIPT['SCRIPT-MALFORMED']);
  assert.deepEqual(whole.choices[0].message.tool_calls, []);
  assert.equal(whole.choices[0].finish_reason, 'stop');
  const s = await collectChat(await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS, stream: true }));
  assert.equal(s.content, SCRIPT['SCRIPT-MALFORMED']);
  assert.equal(s.calls.length, 0);
});

test('tool_choice none leaves the text alone; a named function is called', async () => {
  const none = await client.chat.completions.create({ model: MODEL, messages: user('SCRIPT-JSON-TOOL'), tools: TOOLS, tool_choice: 'none' });
  assert.equal(none.choices[0].message.content, SCRIPT['SCRIPT-JSON-TOOL']);
  assert.deepEqual(none.choices[0].message.tool_calls, []);
  const named = await client.chat.completions.create({
    model: MODEL, messages: user('SCRIPT-NAMED'), tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  const c = named.choices[0];
  assert.equal(c.finish_reason, 'stop', 'OpenAI answers a named tool_choice with finish_reason stop');
  assert.equal(c.message.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(c.message.tool_calls[0].function.arguments), { city: 'Oslo' });
  await assert.rejects(
    client.chat.completions.create({ model: MODEL, messages: user('hi'), tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } }),
    (e) => e instanceof OpenAI.BadRequestError && /nope/.test(e.message));
});

test('a conversation with a tool call and its result', async () => {
  const r = await client.chat.completions.create({
    model: MODEL, tools: TOOLS, max_tokens: 40, temperature: 0,
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 21, "condition": "sunny"}' },
    ],
  });
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  const tok = await postJson(server.url + '/tokenize', {
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 21, "condition": "sunny"}' },
    ],
    tools: TOOLS,
    return_token_strs: true,
  });
  const prompt = tok.json.token_strs.join('');
  assert.match(prompt, /<tool_call>\n\{"name": "get_weather", "arguments": \{"city": "Paris"\}\}\n<\/tool_call>/);
  assert.match(prompt, /<tool_response>\n\{"temperature": 21, "condition": "sunny"\}\n<\/tool_response>/);
  assert.equal(r.usage.prompt_tokens, tok.json.count, 'the arguments string was given to the template as an object');
});

test('stop strings end the answer and are not shown, whole and streamed', async () => {
  const messages = user('SCRIPT-STOP');
  const whole = await client.chat.completions.create({ model: MODEL, messages, stop: ['STOP'] });
  assert.equal(whole.choices[0].message.content, 'one two ');
  assert.equal(whole.choices[0].finish_reason, 'stop');
  assert.equal(whole.choices[0].stop_reason, 'STOP');
  const s = await collectChat(await client.chat.completions.create({ model: MODEL, messages, stop: 'STOP', stream: true }));
  assert.equal(s.content, 'one two ');
});

test('max_tokens ends with finish_reason length', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: user('What is 2 + 3?'), max_tokens: 5 });
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 5);
  const r2 = await client.chat.completions.create({ model: MODEL, messages: user('What is 2 + 3?'), max_completion_tokens: 3 });
  assert.equal(r2.usage.completion_tokens, 3);
});

test('logprobs: the greedy choice is the most likely token', async () => {
  const r = await client.chat.completions.create({
    model: MODEL, messages: user('What is 2 + 3?'), temperature: 0, max_tokens: 8, logprobs: true, top_logprobs: 3,
  });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, 8);
  for (const e of content) {
    assert.ok(e.logprob <= 0);
    assert.equal(e.top_logprobs.length, 3);
    assert.equal(e.top_logprobs[0].token, e.token);
    assert.ok(Math.abs(e.top_logprobs[0].logprob - e.logprob) < 1e-6);
    assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob && e.top_logprobs[1].logprob >= e.top_logprobs[2].logprob);
    assert.deepEqual(Buffer.from(e.bytes).toString('utf8'), e.token);
  }
  const s = await client.chat.completions.create({
    model: MODEL, messages: user('What is 2 + 3?'), temperature: 0, max_tokens: 8, logprobs: true, stream: true,
  });
  const streamed = [];
  for await (const chunk of s) for (const c of chunk.choices) for (const e of c.logprobs?.content ?? []) streamed.push(e.token);
  assert.deepEqual(streamed, content.map((e) => e.token));
});

test('completions: text or token ids, whole, streamed and echoed', async () => {
  const prompt = 'The sum of 12 and 30 is';
  const whole = await client.completions.create({ model: MODEL, prompt, max_tokens: 10, temperature: 0, ignore_eos: true });
  assert.equal(whole.object, 'text_completion');
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage.completion_tokens, 10);
  const ids = (await postJson(server.url + '/tokenize', { prompt })).json.tokens;
  assert.equal(whole.usage.prompt_tokens, ids.length);
  const byIds = await client.completions.create({ model: MODEL, prompt: ids, max_tokens: 10, temperature: 0, ignore_eos: true });
  assert.equal(byIds.choices[0].text, whole.choices[0].text);
  let streamed = '';
  for await (const chunk of await client.completions.create({ model: MODEL, prompt, max_tokens: 10, temperature: 0, ignore_eos: true, stream: true })) {
    streamed += chunk.choices[0]?.text ?? '';
  }
  assert.equal(streamed, whole.choices[0].text);
  const echoed = await client.completions.create({ model: MODEL, prompt, max_tokens: 10, temperature: 0, ignore_eos: true, echo: true });
  assert.equal(echoed.choices[0].text, prompt + whole.choices[0].text);
  const dflt = await client.completions.create({ model: MODEL, prompt, temperature: 0, ignore_eos: true });
  assert.equal(dflt.usage.completion_tokens, 16, 'completions default to 16 tokens, as OpenAI');
  const lp = await client.completions.create({ model: MODEL, prompt, max_tokens: 4, temperature: 0, logprobs: 2, ignore_eos: true });
  assert.equal(lp.choices[0].logprobs.tokens.length, lp.usage.completion_tokens);
  assert.equal(lp.choices[0].logprobs.tokens.join(''), lp.choices[0].text);
});

test('the same seed gives the same sampled answer', async () => {
  const ask = (seed) => client.chat.completions.create({ model: MODEL, messages: user('What is 40 + 2?'), temperature: 1.0, seed, max_tokens: 30 });
  const [a, b] = await Promise.all([ask(7), ask(7)]);
  assert.equal(a.choices[0].message.content + a.choices[0].message.reasoning_content,
               b.choices[0].message.content + b.choices[0].message.reasoning_content);
});

test('tokenize and detokenize round-trip', async () => {
  const t = await postJson(server.url + '/tokenize', { prompt: 'Hello, wörld! 123' });
  assert.equal(t.status, 200);
  assert.equal(t.json.count, t.json.tokens.length);
  assert.equal(t.json.max_model_len, 2048);
  const d = await postJson(server.url + '/detokenize', { tokens: t.json.tokens });
  assert.equal(d.json.prompt, 'Hello, wörld! 123');
  const bad = await postJson(server.url + '/detokenize', { tokens: [-1] });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /invalid token id/);
});

test('bad requests get 4xx with an OpenAI error object, and the server stays up', async () => {
  const url = server.url + '/v1/chat/completions';
  const invalid = await postJson(url, '{"messages": [');
  assert.equal(invalid.status, 400);
  assert.match(invalid.json.error.message, /not valid JSON/);
  assert.equal(invalid.json.error.type, 'invalid_request_error');

  const expect400 = async (body, pattern) => {
    await assert.rejects(client.chat.completions.create(body), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `expected 400, got ${e.status}: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    });
  };
  await expect400({ model: MODEL }, /'messages' is required/);
  await expect400({ model: MODEL, messages: 'hi' }, /'messages' must be a list/);
  await expect400({ model: MODEL, messages: [] }, /must not be empty/);
  await expect400({ model: MODEL, messages: [{ role: 'wizard', content: 'x' }] }, /role 'wizard'/);
  await expect400({ model: MODEL, messages: user('x'), temperature: 'hot' }, /'temperature' must be a number/);
  await expect400({ model: MODEL, messages: user('x'), max_tokens: -3 }, /'max_tokens' must be in/);
  await expect400({ model: MODEL, messages: user('x'), n: 2 }, /only n = 1/);
  await expect400({ model: MODEL, messages: user('x'), stream_options: { include_usage: true } }, /only allowed when 'stream'/);
  await expect400({ model: MODEL, messages: user('word '.repeat(3000)) }, /maximum context length is 2048 tokens/);
  await expect400({ model: MODEL, messages: user('x'), max_tokens: 5000 }, /too large: 5000/);

  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: user('x') }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
  const route = await fetch(server.url + '/v1/nothing-here');
  assert.equal(route.status, 404);
  assert.ok((await route.json()).error.message);
  const completion = await postJson(server.url + '/v1/completions', { model: MODEL, prompt: [1, 2, 99999999] });
  assert.equal(completion.status, 400);
  assert.match(completion.json.error.message, /invalid token id/);
  assert.equal((await fetch(server.url + '/health')).status, 200);
});

test('metrics in Prometheus text format', async () => {
  const text = await (await fetch(server.url + '/metrics')).text();
  assert.match(text, /^# TYPE qwenrt_requests_total counter$/m);
  assert.match(text, /^qwenrt_requests_total\{endpoint="\/v1\/chat\/completions",status="200"\} \d+$/m);
  assert.ok(metric(text, 'qwenrt_generation_tokens_total') > 0);
  assert.ok(metric(text, 'qwenrt_prompt_tokens_total') > 0);
  for (const name of ['qwenrt_num_requests_running', 'qwenrt_num_requests_waiting', 'qwenrt_kv_cache_usage_bytes',
                      'qwenrt_generation_tokens_per_second', 'qwenrt_kv_cache_budget_bytes']) {
    assert.notEqual(metric(text, name), undefined, name);
  }
});
