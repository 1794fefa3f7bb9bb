#!/usr/bin/python3
"""Trains the demo model: a small Qwen3ForCausalLM on gen_data.py's chats, loss on the assistant's
tokens only, with a fixed seed; exports a Hugging Face directory (BF16 safetensors, config.json,
generation_config.json, tokenizer files). Needs Debian's python3-torch (only to retrain: qwenrt
itself never needs PyTorch) and a built qwenrt, whose tokenizer encodes the data.

Usage: train.py --data TRAIN.jsonl --tokenizer TOK_DIR --qwenrt BUILD/qwenrt --out OUT_DIR
                [--minutes 50] [--layers 4] [--hidden 256] ...
"""
import argparse
import json
import math
import os
import random
import struct
import subprocess
import tempfile
import time

import torch
import torch.nn.functional as F


# ---------------------------------------------------------------- model (Qwen3, as MODELS.md specifies it)

class RMSNorm(torch.nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        v = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(v + self.eps))


def rope_tables(head_dim, n_pos, theta):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    ang = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().float(), ang.sin().float()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, h, kv, hd, ff = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["intermediate_size"]
        self.h, self.kv, self.hd = h, kv, hd
        self.input_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.q_proj = torch.nn.Linear(d, h * hd, bias=False)
        self.k_proj = torch.nn.Linear(d, kv * hd, bias=False)
        self.v_proj = torch.nn.Linear(d, kv * hd, bias=False)
        self.o_proj = torch.nn.Linear(h * hd, d, bias=False)
        self.q_norm = RMSNorm(hd, c["rms_norm_eps"])
        self.k_norm = RMSNorm(hd, c["rms_norm_eps"])
        self.gate_proj = torch.nn.Linear(d, ff, bias=False)
        self.up_proj = torch.nn.Linear(d, ff, bias=False)
        self.down_proj = torch.nn.Linear(ff, d, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        y = self.input_layernorm(x)
        q = self.q_norm(self.q_proj(y).view(b, t, self.h, self.hd)).transpose(1, 2)
        k = self.k_norm(self.k_proj(y).view(b, t, self.kv, self.hd)).transpose(1, 2)
        v = self.v_proj(y).view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.h // self.kv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        # Scale q rather than the [t, t] scores: the elementwise work on scores dominates on a CPU.
        scores = (q * (1.0 / math.sqrt(self.hd))) @ k.transpose(-1, -2)
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        a = torch.softmax(scores.masked_fill_(causal, float("-inf")), dim=-1) @ v
        x = x + self.o_proj(a.transpose(1, 2).reshape(b, t, self.h * self.hd))
        y = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))


class Qwen3(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = torch.nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = torch.nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        cos, sin = rope_tables(c["head_dim"], c["max_position_embeddings"], c["rope_theta"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for m in self.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                torch.nn.init.normal_(m.weight, std=c["initializer_range"])

    def forward(self, ids, positions=None):
        """Logits [B, T, V]; with `positions` (a bool mask [B, T]) only those rows, as [N, V]:
        training needs the head only where the loss is, a fifth of the tokens or less."""
        t = ids.shape[1]
        x = self.embed_tokens(ids)
        cos, sin = self.cos[:t], self.sin[:t]
        for layer in self.layers:
            x = layer(x, cos, sin)
        h = self.norm(x)
        if positions is not None:
            h = h[positions]
        return h @ self.embed_tokens.weight.T  # tied LM head

    def hf_state(self):
        """Parameters under their Hugging Face names."""
        out = {"model.embed_tokens.weight": self.embed_tokens.weight, "model.norm.weight": self.norm.weight}
        for i, l in enumerate(self.layers):
            p = f"model.layers.{i}."
            out[p + "input_layernorm.weight"] = l.input_layernorm.weight
            out[p + "post_attention_layernorm.weight"] = l.post_attention_layernorm.weight
            for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
                out[p + f"self_attn.{n}.weight"] = getattr(l, n).weight
            out[p + "self_attn.q_norm.weight"] = l.q_norm.weight
            out[p + "self_attn.k_norm.weight"] = l.k_norm.weight
            for n in ("gate_proj", "up_proj", "down_proj"):
                out[p + f"mlp.{n}.weight"] = getattr(l, n).weight
        return out


# ---------------------------------------------------------------- data

def tokenize(qwenrt, tok_dir, texts):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
        path = f.name
    try:
        out = subprocess.run([qwenrt, "tokenize", "--model", tok_dir, "--jsonl", path], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    return [json.loads(line) for line in out.splitlines()]


def load_examples(path, qwenrt, tok_dir, max_len):
    """(token ids, [(first, end) token ranges trained]) per example: the target, or the "spans"."""
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    texts, cuts = [], []
    for r in rows:
        text = r["prompt"] + r["target"]
        spans = r.get("spans", [[len(r["prompt"]), len(text)]])
        cuts.append(len(spans))
        texts.append(text)
        for s, e in spans:
            texts += [text[:s], text[:e]]
    toks = tokenize(qwenrt, tok_dir, texts)
    examples, skipped, at = [], 0, 0
    for n in cuts:
        full, parts = toks[at], toks[at + 1:at + 1 + 2 * n]
        at += 1 + 2 * n
        # Each cut must tokenize as a prefix of the whole, or the labels would not line up.
        if len(full) > max_len or any(full[:len(p)] != p for p in parts):
            skipped += 1
            continue
        examples.append((full, [(len(parts[2 * i]), len(parts[2 * i + 1])) for i in range(n)]))
    return examples, skipped


def batches(examples, tokens_per_batch, rng):
    """Batches of similar length (little padding), in random order."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i][0]), rng.random()))
    out, cur, width = [], [], 0
    for i in order:
        n = len(examples[i][0])
        if cur and max(width, n) * (len(cur) + 1) > tokens_per_batch:
            out.append(cur)
            cur, width = [], 0
        cur.append(i)
        width = max(width, n)
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(examples, idx, pad):
    width = max(len(examples[i][0]) for i in idx)
    ids = torch.full((len(idx), width), pad, dtype=torch.long)
    labels = torch.full((len(idx), width), -100, dtype=torch.long)
    for r, i in enumerate(idx):
        seq, spans = examples[i]
        ids[r, :len(seq)] = torch.tensor(seq)
        # Position t predicts token t + 1: learn the assistant's tokens only.
        for first, end in spans:
            labels[r, first - 1:end - 1] = torch.tensor(seq[first:end])
    return ids, labels


# ---------------------------------------------------------------- export

def save_safetensors(tensors, path):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.bfloat16).contiguous()
        raw = t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)


def export(model, c, tok_dir, out_dir, special):
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(model.hf_state(), os.path.join(out_dir, "model.safetensors"))
    config = {
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "torch_dtype": "bfloat16",
        "attention_bias": False, "attention_dropout": 0.0, "hidden_act": "silu",
        "bos_token_id": special["<|endoftext|>"], "eos_token_id": special["<|im_end|>"],
        "tie_word_embeddings": True, "use_cache": True, "use_sliding_window": False, "sliding_window": None,
        "max_window_layers": c["num_hidden_layers"], "rope_scaling": None, "transformers_version": "4.51.0",
        **{k: c[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                             "num_key_value_heads", "head_dim", "max_position_embeddings", "rope_theta", "rms_norm_eps",
                             "initializer_range")},
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    # Greedy: a tiny model trained on exact answers answers best without sampling.
    gen = {"bos_token_id": special["<|endoftext|>"], "do_sample": False, "eos_token_id": [special["<|im_end|>"], special["<|endoftext|>"]],
           "pad_token_id": special["<|endoftext|>"], "transformers_version": "4.51.0"}
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(tok_dir, name), "rb") as src, open(os.path.join(out_dir, name), "wb") as dst:
            dst.write(src.read())


# ---------------------------------------------------------------- main

def train(rank, args, examples, c, special):
    """One data-parallel worker: single-threaded, as two single-threaded processes on two cores train
    2.5x faster than one process with two threads (small matrices: BLAS threading costs more than
    it gains). DistributedDataParallel averages the gradients; every worker sees the same schedule."""
    world = args.procs
    torch.set_num_threads(1)
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{args.port}", rank=rank, world_size=world)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)  # the same batches in every worker; each takes its share
    model = Qwen3(c)
    with torch.no_grad():
        for layer in model.layers:
            layer.q_norm.weight.fill_(args.qk_norm_init)
            layer.k_norm.weight.fill_(args.qk_norm_init)
    log = print if rank == 0 else (lambda *a, **k: None)
    log(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, config {json.dumps(c)}; "
        f"{world} worker(s) x {args.tokens_per_batch} tokens a step", flush=True)
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(model)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    budget = args.minutes * 60
    start = time.time()
    step, epoch, warmup = 0, 0, 100
    done = False
    ema = None
    next_export = args.export_every
    while not done:
        epoch += 1
        all_batches = batches(examples, args.tokens_per_batch, rng)
        for at in range(0, len(all_batches) - world + 1, world):
            idx = all_batches[at + rank]
            clock = torch.tensor([time.time() - start], dtype=torch.float64)
            if world > 1:
                dist.all_reduce(clock, op=dist.ReduceOp.MAX)  # one clock, so all stop at the same step
            elapsed = clock.item()
            frac = min(elapsed / budget, 1.0) if not args.max_steps else step / args.max_steps
            if frac >= 1.0:
                done = True
                break
            lr = args.lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
            for g in opt.param_groups:
                g["lr"] = lr
            ids, labels = collate(examples, idx, special["<|endoftext|>"])
            trained = labels != -100
            # BF16 matrix products (AVX-512 BF16), f32 weights and optimizer: 1.6x the tokens a minute.
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
                logits = net(ids, trained)
            loss = F.cross_entropy(logits.float(), labels[trained])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
            if args.export_every and elapsed >= next_export * 60:
                next_export += args.export_every
                if rank == 0:
                    export(model, c, args.tokenizer, args.out + ".ckpt", special)
                log(f"step {step}: checkpoint exported to {args.out}.ckpt", flush=True)
            if step % 50 == 0:
                log(f"step {step} epoch {epoch} {elapsed / 60:.1f} min lr {lr:.2e} loss {loss.item():.4f} (ema {ema:.4f})", flush=True)
    log(f"trained {step} steps, {epoch} epochs, {(time.time() - start) / 60:.1f} min, final loss ema {ema:.4f}", flush=True)
    if rank == 0:
        model.eval()
        export(model, c, args.tokenizer, args.out, special)
        log(f"exported to {args.out}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--qwenrt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=50)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=768)
    ap.add_argument("--lr", type=float, default=1e-3)
    # Real Qwen3 uses 1e6 for long contexts; at 1e6 most of a 64-wide head's frequencies barely turn
    # within the few hundred tokens of a chat here, and the arithmetic fetches digits by their distance.
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--bf16", type=int, default=1, help="1: BF16 autocast for the forward pass (weights stay f32)")
    ap.add_argument("--tokens-per-batch", type=int, default=1024, help="per worker")
    ap.add_argument("--max-len", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--qk-norm-init", type=float, default=1.0, help="initial q_norm / k_norm weights (attention logits scale with its square)")
    ap.add_argument("--export-every", type=float, default=0, help="minutes between checkpoint exports to OUT.ckpt (0: none)")
    ap.add_argument("--procs", type=int, default=2, help="data-parallel worker processes, one thread each")
    ap.add_argument("--port", type=int, default=29517)
    args = ap.parse_args()

    torch.set_num_threads(1)  # before the workers fork: no thread pool to inherit
    tok = json.load(open(os.path.join(args.tokenizer, "tokenizer.json"), encoding="utf-8"))
    special = {a["content"]: a["id"] for a in tok["added_tokens"]}
    n_tokens = max(special.values()) + 1
    c = {"vocab_size": (n_tokens + 63) // 64 * 64, "hidden_size": args.hidden, "intermediate_size": args.ffn,
         "num_hidden_layers": args.layers, "num_attention_heads": args.heads, "num_key_value_heads": args.kv_heads,
         "head_dim": args.hidden // args.heads, "max_position_embeddings": 2048, "rope_theta": args.rope_theta,
         "rms_norm_eps": 1e-6, "initializer_range": 0.02}

    t0 = time.time()
    examples, skipped = load_examples(args.data, args.qwenrt, args.tokenizer, args.max_len)
    n_target = sum(e - f for _, spans in examples for f, e in spans)
    print(f"{len(examples)} examples ({skipped} skipped), {sum(len(s) for s, _ in examples)} tokens, {n_target} trained; "
          f"tokenized in {time.time() - t0:.1f} s", flush=True)
    if args.procs == 1:
        train(0, args, examples, c, special)
    else:
        import torch.multiprocessing as mp
        mp.start_processes(train, args=(args, examples, c, special), nprocs=args.procs, start_method="fork")


if __name__ == "__main__":
    main()
