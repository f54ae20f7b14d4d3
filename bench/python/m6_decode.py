#!/usr/bin/python3
"""
Greedy KV-cache decoding of an m6j checkpoint in PyTorch eager, for a speed comparison with `./m6j bench decode`
(which runs this script as its child with the same environment and thread count, and hands it the same prompts).

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/python/m6_decode.py CHECKPOINT --prompts prompts.json --rows 1,32

prompts.json: {"prompts": [[BOS, ids...], ...], "eos": id, "textVocab": n} (row i decodes prompt i mod len). The
model is python/m6j_load.py's, weights and math; only the decoding loop is here, written as m6j's engine does it
(infer.Engine prefill/decode, model.M6Model.decode): one padded prefill of all rows (each prompt read bidirectionally
over its own length), its K/V copied into a per-layer cache (B, H, T, hd) preallocated at the model's text context,
then one token per step for all live rows at once, the new token's K/V written in place at its row's position and
attended against that row's cache. MoE routes as m6j's serving does (no token dropping). A row ends as the engine's
does: at EOS (counted, not kept), at --new-tokens, or at the context's end; ended rows leave the batch.
Prints JSON: per rows value the tokens/s of each round (prefill included), decode ms per step, and the tokens of
the first rows; with --matmul, the 1024^3 fp32 matmul rate measured in this process (m6_train_step.matmul_gflops).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from m6j_load import load  # noqa: E402  the checkpoint loader and its model code
from m6_train_step import matmul_gflops  # noqa: E402  the same rate the training bench prints


class Decoder:
    """Prefill and per-step decoding over m6j_load's M6ForPrefixLM with a preallocated per-layer K/V cache."""

    def __init__(self, model):
        self.m, self.c, self.t = model, model.config, model.tensors

    def _block(self, x, pre, moe, attend):
        d = self.c.dModel
        t = self.t
        a = attend(F.layer_norm(x, (d,), t[pre + "ln1.weight"], t[pre + "ln1.bias"], 1e-5), pre)
        x = x.add(F.linear(a, t[pre + "attn.proj.weight"], t[pre + "attn.proj.bias"]))
        h = F.layer_norm(x, (d,), t[pre + "ln2.weight"], t[pre + "ln2.bias"], 1e-5)
        # drop_tokens=False: m6j's serving forward never drops MoE tokens (ForwardContext.serving)
        return x.add(self.m._moe(h, pre + "moe.", False, False, None) if moe else self.m._dense(h, pre + "ffn."))

    def _qkv(self, x, pre):
        b, s, _ = x.shape
        h, hd = self.c.nHeads, self.c.head_dim()
        qkv = F.linear(x, self.t[pre + "attn.qkv.weight"], self.t[pre + "attn.qkv.bias"]).view(b, s, 3, h, hd).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]                                        # (B, H, S, hd)

    def prefill(self, prompts):
        """Caches for all rows and the final hidden state at each row's last prompt position (B, d)."""
        b, tmax = len(prompts), max(len(p) for p in prompts)
        c = self.c
        h, hd, T = c.nHeads, c.head_dim(), c.maxTextLen
        ids = torch.zeros(b, tmax, dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, :len(p)] = torch.tensor(p)
        lens = torch.tensor([len(p) for p in prompts])
        i_ = torch.arange(tmax).view(tmax, 1)
        j_ = torch.arange(tmax).view(1, tmax)
        mask = ((j_ <= i_).unsqueeze(0) | (j_ < lens.view(-1, 1, 1))).unsqueeze(1)   # PrefixMask.of(len, t, 0)
        self.k = [torch.zeros(b, h, T, hd) for _ in self.m.layers]
        self.v = [torch.zeros(b, h, T, hd) for _ in self.m.layers]
        self.lens = lens.clone()                                             # positions held per row
        layer = [0]

        def attend(x, pre):
            q, k, v = self._qkv(x, pre)
            li = layer[0]
            self.k[li][:, :, :tmax].copy_(k)                                 # pads land past a row's length: masked, then overwritten
            self.v[li][:, :, :tmax].copy_(v)
            att = torch.matmul(q, k.transpose(-2, -1)).mul(1.0 / math.sqrt(hd)).masked_fill(~mask, float("-inf"))
            return torch.matmul(torch.softmax(att, -1), v).transpose(1, 2).reshape(b, tmax, c.dModel)

        x = self.m.embed_tokens(ids)
        for li, (pre, moe) in enumerate(self.m.layers):
            layer[0] = li
            x = self._block(x, pre, moe, attend)
        x = F.layer_norm(x, (c.dModel,), self.t["ln_f.weight"], self.t["ln_f.bias"], 1e-5)
        return x[torch.arange(b), lens - 1]

    def step(self, tokens):
        """One token for every live row: tokens (B,) long at positions self.lens; returns (B, d)."""
        c = self.c
        b = tokens.shape[0]
        hd = c.head_dim()
        pos = self.lens
        rows = torch.arange(b)
        span = int(pos.max()) + 1
        mask = (torch.arange(span).view(1, span) <= pos.view(b, 1)).view(b, 1, 1, span)
        layer = [0]

        def attend(x, pre):
            q, k, v = self._qkv(x, pre)                                      # (B, H, 1, hd)
            li = layer[0]
            self.k[li][rows, :, pos] = k[:, :, 0]                            # written in place at each row's position
            self.v[li][rows, :, pos] = v[:, :, 0]
            kc, vc = self.k[li][:, :, :span], self.v[li][:, :, :span]
            att = torch.matmul(q, kc.transpose(-2, -1)).mul(1.0 / math.sqrt(hd)).masked_fill(~mask, float("-inf"))
            return torch.matmul(torch.softmax(att, -1), vc).transpose(1, 2).reshape(b, 1, c.dModel)

        x = F.embedding(tokens.view(b, 1), self.t["tok.weight"]).add(self.t["pos_text"].index_select(0, pos).unsqueeze(1))
        for li, (pre, moe) in enumerate(self.m.layers):
            layer[0] = li
            x = self._block(x, pre, moe, attend)
        self.lens = pos + 1
        return F.layer_norm(x, (c.dModel,), self.t["ln_f.weight"], self.t["ln_f.bias"], 1e-5).view(b, c.dModel)

    def keep(self, idx):
        """Only rows idx stay in the batch (ended rows leave, as the engine frees their slots)."""
        self.k = [k.index_select(0, idx) for k in self.k]
        self.v = [v.index_select(0, idx) for v in self.v]
        self.lens = self.lens.index_select(0, idx)


def generate(dec, model, prompts, new_tokens, eos, text_vocab):
    """Greedy tokens of every row (EOS included when reached), the prefill+decode seconds and the decode steps' ns."""
    c = model.config
    t0 = time.perf_counter_ns()
    out = [[] for _ in prompts]
    h = dec.prefill(prompts)
    live = list(range(len(prompts)))
    step_ns, steps = 0, 0
    while True:
        ids = model.logits(h).narrow(1, 0, text_vocab).argmax(-1)
        keep = []
        for j, r in enumerate(live):
            tok = int(ids[j])
            out[r].append(tok)
            n = len(out[r])                                                  # Engine.accept: EOS, maxNew, context end
            if not (tok == eos or n >= new_tokens or len(prompts[r]) + n >= c.maxTextLen):
                keep.append(j)
        if not keep:
            break
        if len(keep) < len(live):
            idx = torch.tensor(keep)
            dec.keep(idx)
            ids = ids.index_select(0, idx)
            live = [live[j] for j in keep]
        s0 = time.perf_counter_ns()
        h = dec.step(ids)
        step_ns += time.perf_counter_ns() - s0
        steps += 1
    return out, (time.perf_counter_ns() - t0) / 1e9, step_ns, steps


def main():
    ap = argparse.ArgumentParser(description="Greedy KV-cache decoding of an m6j checkpoint in PyTorch eager (tokens/s).")
    ap.add_argument("checkpoint")
    ap.add_argument("--prompts", required=True, help="JSON file: {prompts: [[ids]], eos, textVocab}")
    ap.add_argument("--rows", default="1,32")
    ap.add_argument("--new-tokens", type=int, default=48)
    ap.add_argument("--rounds", type=int, default=1, help="timed rounds per rows value, after one warm-up")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--matmul", action="store_true", help="also measure the 1024^3 fp32 matmul rate (5 s)")
    ap.add_argument("--show", type=int, default=4, help="rows whose tokens are printed")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    with open(a.prompts) as f:
        spec = json.load(f)
    model, _ = load(a.checkpoint)
    rows = [int(x) for x in a.rows.split(",")]
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": {}}
    with torch.inference_mode():
        dec = Decoder(model)
        for b in rows:
            prompts = [spec["prompts"][i % len(spec["prompts"])] for i in range(b)]
            generate(dec, model, prompts, a.new_tokens, spec["eos"], spec["textVocab"])      # warm-up
            rounds = []
            for _ in range(a.rounds):
                out, secs, step_ns, steps = generate(dec, model, prompts, a.new_tokens, spec["eos"], spec["textVocab"])
                toks = sum(len(o) for o in out)
                rounds.append({"tokens": toks, "seconds": secs, "tokensPerSecond": toks / secs,
                               "decodeSteps": steps, "msPerStep": step_ns / 1e6 / max(1, steps)})
            res["rows"][str(b)] = {"rounds": rounds, "ids": out[:a.show]}
        if a.matmul:
            res["matmulGflops"] = matmul_gflops()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
