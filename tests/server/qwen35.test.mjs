// A Qwen3.5 model served with its real chat template, whose generation prompt opens <think>: the
// reasoning split starts inside the block, thinking off closes it in the prompt, and tool calls
// come in the XML form (here forced for a named tool_choice). The golden random-weight Qwen3.5
// checkpoint runs the hybrid forward pass; the replies come from the scripted-reply seam.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, postJson, collectChat } from './harness.mjs';

const DATA = process.env.QWENRT_TEST_DATA;
const SCRIPT = {
  'SCRIPT-OPEN-THINK': 'I should add 2 and 3.\n</think>\n\nIt is 5.',
  'SCRIPT-NO-THINK': 'Just 5.',
  'SCRIPT-NAMED-XML': '<parameter=city>\nOslo\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>',
};
const TOOLS = [{
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } },
  },
}];

let server, client, dir;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwenrt-qwen35-'));
  const src = path.join(DATA, 'models', 'qwen3_5-dense');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
    fs.copyFileSync(path.join(src, f), path.join(dir, f));
  }
  fs.copyFileSync(path.join(DATA, 'chat', 'templates', 'Qwen3.5-4B.jinja'), path.join(dir, 'chat_template.jinja'));
  server = await startServer(['--model', dir, '--max-model-len', '4096'], { QWENRT_SERVE_SCRIPT: JSON.stringify(SCRIPT) });
  client = server.client();
});
after(async () => {
  assert.equal(await server.stop(), 0);
  fs.rmSync(dir, { recursive: true, force: true });
});

const user = (content) => [{ role: 'user', content }];

test('the served name is the folder name', async () => {
  assert.deepEqual((await client.models.list()).data.map((m) => m.id), [path.basename(dir)]);
});

test('a prompt that opens <think>: the reply is reasoning up to </think>, whole and streamed', async () => {
  const tok = await postJson(server.url + '/tokenize', { messages: user('SCRIPT-OPEN-THINK'), return_token_strs: true });
  assert.ok(tok.json.token_strs.join('').endsWith('<|im_start|>assistant\n<think>\n'), 'the template opens the block');
  const whole = await client.chat.completions.create({ model: path.basename(dir), messages: user('SCRIPT-OPEN-THINK') });
  assert.equal(whole.choices[0].message.reasoning_content, 'I should add 2 and 3.');
  assert.equal(whole.choices[0].message.content, 'It is 5.');
  const s = await collectChat(await client.chat.completions.create({ messages: user('SCRIPT-OPEN-THINK'), stream: true, model: path.basename(dir) }));
  assert.equal(s.reasoning, 'I should add 2 and 3.');
  assert.equal(s.content, 'It is 5.');
});

test('thinking off: the template closes the block and everything is content', async () => {
  const r = await client.chat.completions.create({
    model: path.basename(dir), messages: user('SCRIPT-NO-THINK'), chat_template_kwargs: { enable_thinking: false },
  });
  assert.equal(r.choices[0].message.reasoning_content, null);
  assert.equal(r.choices[0].message.content, 'Just 5.');
});

test('a named tool_choice forces an XML call after closing the thinking', async () => {
  const r = await client.chat.completions.create({
    model: path.basename(dir), messages: user('SCRIPT-NAMED-XML'), tools: TOOLS,
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  const m = r.choices[0].message;
  assert.equal(m.tool_calls.length, 1);
  assert.equal(m.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(m.tool_calls[0].function.arguments), { city: 'Oslo', days: 3 });
  assert.equal(m.reasoning_content, null);
  const s = await collectChat(await client.chat.completions.create({
    model: path.basename(dir), messages: user('SCRIPT-NAMED-XML'), tools: TOOLS, stream: true,
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  }));
  assert.equal(s.calls.length, 1);
  assert.equal(s.calls[0].arguments, m.tool_calls[0].function.arguments);
});

test('the hybrid model really generates, batched', async () => {
  const ask = () => client.completions.create({ model: path.basename(dir), prompt: 'Hello', max_tokens: 12, temperature: 0, ignore_eos: true });
  const [a, b, c] = await Promise.all([ask(), ask(), ask()]);
  assert.equal(a.usage.completion_tokens, 12);
  assert.equal(a.choices[0].text, b.choices[0].text);
  assert.equal(a.choices[0].text, c.choices[0].text);
});
