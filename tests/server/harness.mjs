// Starts `qwenrt serve` (the test build, qwenrt_scripted, which can take scripted replies) on a
// free loopback port and hands out an official OpenAI SDK client for it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';

export const BINARY = process.env.QWENRT_SCRIPTED_BINARY;
export const DEMO_GGUF = process.env.QWENRT_DEMO_GGUF;
if (!BINARY || !DEMO_GGUF) throw new Error('QWENRT_SCRIPTED_BINARY and QWENRT_DEMO_GGUF must be set (ctest sets them)');

export async function startServer(args = [], env = {}) {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'qwenrt-serve-'));
  const child = spawn(BINARY, ['serve', '--port', '0', '-t', '2', ...args], {
    env: { ...process.env, QWENRT_CACHE: cache, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start in time:\n' + stderr)), 120000);
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = stderr.match(/on http:\/\/[0-9.]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening:\n${stderr}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    child,
    stderr: () => stderr,
    client: (apiKey = 'unused') => new OpenAI({ baseURL: url + '/v1', apiKey, maxRetries: 0, timeout: 120000 }),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      fs.rmSync(cache, { recursive: true, force: true });
      return child.exitCode;
    },
  };
}

// The value of one Prometheus metric (without labels) in a /metrics text.
export function metric(text, name) {
  const m = text.match(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

export async function postJson(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

// Collects a streamed chat completion into the shape of a whole one.
export async function collectChat(stream) {
  const out = { content: '', reasoning: '', calls: [], finish: null, usage: null, chunks: 0, roleFirst: false };
  for await (const chunk of stream) {
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices) {
      const d = choice.delta;
      if (out.chunks === 1 && d.role === 'assistant') out.roleFirst = true;
      if (d.content) out.content += d.content;
      if (d.reasoning_content) out.reasoning += d.reasoning_content;
      for (const tc of d.tool_calls ?? []) {
        if (!out.calls[tc.index]) out.calls[tc.index] = { id: tc.id, name: '', arguments: '' };
        if (tc.function?.name) out.calls[tc.index].name += tc.function.name;
        if (tc.function?.arguments) out.calls[tc.index].arguments += tc.function.arguments;
      }
      if (choice.finish_reason) out.finish = choice.finish_reason;
    }
  }
  return out;
}
