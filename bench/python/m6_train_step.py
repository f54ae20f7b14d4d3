#!/usr/bin/python3
"""
A line-by-line PyTorch mirror of one m6j training step, for a speed comparison with `./m6j bench train`.

Mirrors (same parameter names, shapes, init order, ops and their order):
  m6j-core/src/main/java/m6j/model/{M6Model,Block,Attention,DenseFfn,MoeFfn,MoeConfig,M6Config,PrefixMask}.java, through the
    model code it shares with the checkpoint loader, python/m6j_load.py
  m6j-core/src/main/resources/m6j/presets.json
  m6j-train/src/main/java/m6j/train/{TrainBench,Batch,AdamW,Trainer}.java

Run with Debian's torch and the same thread settings as the Java launcher:
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/python/m6_train_step.py --preset small
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/python/m6_train_step.py --preset tiny --batch-size 48 --text-len 12

Batches are drawn with a Python copy of java.util.Random(1), so they are the very batches TrainBench uses; the
weights come from torch.manual_seed(1) + torch.randn in the Java init order.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = os.path.join(HERE, "..", "..", "m6j-core", "src", "main", "resources", "m6j", "presets.json")


sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from m6j_load import M6Config, M6ForPrefixLM, MoeConfig  # noqa: E402  the model code shared with the checkpoint loader


def preset(name):
    """A named shape of presets.json (Presets.get)."""
    with open(PRESETS) as f:
        allp = json.load(f)
    if name.startswith("_") or name not in allp:
        raise SystemExit("unknown preset '%s'" % name)
    return M6Config.from_json(dict(allp[name], name=name))


class ForwardContext:
    """ForwardContext.train(): MoE capacity and dropping as in training; the aux losses summed in order (addAux)."""

    def __init__(self, training):
        self.training = training
        self.aux_terms = []

    @property
    def aux(self):
        total = None
        for t in self.aux_terms:
            total = t if total is None else total.add(t)
        return total


# ---------------------------------------------------------------- batches (TrainBench.batch, Batch.of, PrefixMask.of)

class JavaRandom:
    """java.util.Random, bit for bit (48-bit LCG): nextInt(bound) and nextBytes."""
    MULT, ADD, MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1

    def __init__(self, seed):
        self.seed = (seed ^ self.MULT) & self.MASK

    def _next(self, bits):
        self.seed = (self.seed * self.MULT + self.ADD) & self.MASK
        r = self.seed >> (48 - bits)
        return r - (1 << 32) if r >= (1 << 31) else r                       # as a Java int

    def next_int(self, bound=None):
        if bound is None:
            return self._next(32)
        r, m = self._next(31), bound - 1
        if (bound & m) == 0:
            return (bound * r) >> 31
        u = r
        r = u % bound
        while u - r + m >= (1 << 31):                                       # int overflow in Java
            u = self._next(31)
            r = u % bound
        return r

    def next_bytes(self, n):
        out = bytearray(n)
        i = 0
        while i < n:
            rnd = self.next_int()
            for _ in range(min(n - i, 4)):
                out[i] = rnd & 0xFF
                rnd >>= 8
                i += 1
        return out


class Batch:
    def __init__(self, images, tokens, mask, loss_positions, targets, target_count, positions):
        self.images, self.tokens, self.mask = images, tokens, mask
        self.loss_positions, self.targets, self.target_count, self.positions = loss_positions, targets, target_count, positions


def prefix_mask(prefix, seq_len, past):
    l = past + seq_len
    qi = past + torch.arange(seq_len).view(seq_len, 1)
    j = torch.arange(l).view(1, l)
    pre = torch.tensor(prefix, dtype=torch.long).view(-1, 1, 1)
    return ((j <= qi).unsqueeze(0) | (j < pre)).view(len(prefix), 1, seq_len, l)   # true = may attend


def bench_batch(c, b, text_len, rng):
    """TrainBench.batch + Batch.of (ITT): an image and random ids 5..V-1, each predicting the next (last -> 2); loss on every text position."""
    p = c.patches()
    s_len = p + text_len
    ids = np.zeros((b, text_len), dtype=np.int64)
    pos, tgt, prefix = [], [], []
    imgs = []
    for i in range(b):
        inp = [5 + rng.next_int(c.vocabSize - 5) for _ in range(text_len)]
        tg = [inp[j + 1] if j + 1 < text_len else 2 for j in range(text_len)]
        imgs.append(rng.next_bytes(c.imageSize * c.imageSize * c.channels))
        ids[i] = inp
        for j in range(text_len):
            if tg[j] >= 0:
                pos.append(i * s_len + p + j)
                tgt.append(tg[j])
        prefix.append(p + 1)                                                # Sequence(in, prefixText=1, tg)
    images = torch.frombuffer(bytearray(b"".join(imgs)), dtype=torch.uint8).view(b, c.imageSize, c.imageSize, c.channels)
    return Batch(images, torch.from_numpy(ids), prefix_mask(prefix, s_len, 0),
                 torch.tensor(pos, dtype=torch.long), torch.tensor(tgt, dtype=torch.long), len(tgt), b * s_len)


# ---------------------------------------------------------------- loss (Trainer.loss) and optimizer (AdamW)

def loss_of(model, batch, ctx):
    """Trainer.loss: mean cross-entropy over the target positions only. Their hidden states are gathered before the
    tied LM head, and the head runs in chunks of about 8 MB of logits, summed and then divided by the count."""
    h = model.hidden(batch.images, batch.tokens, batch.mask, 0, training=ctx.training, drop_tokens=True,
                     aux=ctx.aux_terms)                                   # (B, S, d)
    flat = h.reshape(-1, model.config.dModel)                             # (B*S, d)
    pos, tgt, n = batch.loss_positions, batch.targets, batch.target_count
    chunk = int(max(64, min(4096, (8 << 20) // (4 * model.config.vocabSize))))
    total = None
    for i in range(0, n, chunk):
        ln = min(chunk, n - i)
        logits = model.logits(flat.index_select(0, pos.narrow(0, i, ln)))  # (len, V)
        l = F.cross_entropy(logits, tgt.narrow(0, i, ln), reduction="sum")
        total = l if total is None else total.add(l)
    return total.div(n)


class AdamW:
    def __init__(self, params, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.05):
        self.params = params
        self.b1, self.b2, self.eps, self.wd = beta1, beta2, eps, weight_decay
        self.step = 0
        with torch.no_grad():
            self.m = {k: p.detach().clone().zero_() for k, p in params.items()}
            self.v = {k: p.detach().clone().zero_() for k, p in params.items()}

    def update(self, lr):
        self.step += 1
        bc1, bc2 = 1 - self.b1 ** self.step, 1 - self.b2 ** self.step
        with torch.no_grad():
            for name, p in self.params.items():
                g = p.grad
                if g is None:
                    continue
                mm, vv = self.m[name], self.v[name]
                mm.lerp_(g, 1 - self.b1)
                vv.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
                if self.wd > 0 and p.dim() >= 2:
                    p.mul_(1 - lr * self.wd)
                denom = vv.div(bc2)
                denom.sqrt_().add_(self.eps)
                p.addcdiv_(mm, denom, value=-lr / bc1)

    @staticmethod
    def zero_grad(params):
        """Drops every gradient (set to None, not zeroed), as AdamW.zeroGrad does with mutable_grad().reset()."""
        for p in params.values():
            p.grad = None

    @staticmethod
    def squares(t):
        """AdamW.squares: the sum of squares in double, per chunk of 2^20 elements widened to float64."""
        s, flat = 0.0, t.reshape(-1)
        for i in range(0, flat.numel(), 1 << 20):
            d = flat.narrow(0, i, min(1 << 20, flat.numel() - i)).to(torch.float64)
            s += d.mul_(d).sum().item()
        return s

    @staticmethod
    def clip_grad_norm(params, max_norm):
        """AdamW.clipGradNorm: the global norm from double-precision squares, then one scale of every gradient."""
        sq = 0.0
        with torch.no_grad():
            for p in params.values():
                if p.grad is not None:
                    sq += AdamW.squares(p.grad)
            norm = math.sqrt(sq)
            if max_norm > 0 and norm > max_norm:
                s = max_norm / (norm + 1e-6)
                for p in params.values():
                    if p.grad is not None:
                        p.grad.mul_(s)
        return norm


# ---------------------------------------------------------------- bench (TrainBench.run, stepFlops, matmulGflops)

def step_flops(c, b, s, targets):
    d, f, m = float(c.dModel), float(c.dFF), c.moe
    per_pos = 0.0
    for l in range(c.nLayers):
        per_pos += 4 * d * d
        per_pos += m.k() * 2 * d * f + d * m.experts if m.is_moe_layer(l) else 2 * d * f
    fwd = (2 * per_pos * b * s
           + c.nLayers * 4.0 * b * float(s) * s * d
           + 2.0 * b * c.patches() * c.patch_dim() * d
           + 2.0 * targets * c.vocabSize * d)
    return 3 * fwd


def matmul_gflops():
    with torch.no_grad():
        a, bm = torch.randn(1024, 1024), torch.randn(1024, 1024)
        r = []
        start = time.perf_counter_ns()
        while time.perf_counter_ns() - start < 5_000_000_000:
            t0 = time.perf_counter_ns()
            cm = a.matmul(bm)
            r.append(2.0 * 1024 ** 3 / ((time.perf_counter_ns() - t0) / 1e9) / 1e9)
            del cm
        r.sort()
        return r[int(len(r) * 0.9)]


def vm_hwm():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return -1


def run(c, batch, text_len, warmup, steps):
    model = M6ForPrefixLM(c, seed=1)
    params = model.tensors
    opt = AdamW(params, weight_decay=0.05)
    rng = JavaRandom(1)
    times, losses = [], []
    b0 = bench_batch(c, batch, text_len, rng)
    for i in range(warmup + steps):
        b = bench_batch(c, batch, text_len, rng)
        t0 = time.perf_counter_ns()
        ctx = ForwardContext(True)
        loss = loss_of(model, b, ctx)
        aux_total = ctx.aux
        total = loss if aux_total is None else loss.add(aux_total)
        total.backward()
        lv = loss.item()
        t0 = time.perf_counter_ns() - t0
        aux = aux_total.item() if aux_total is not None else 0.0          # untimed, as Java reads none
        del ctx, loss, total, aux_total, b                                 # Java closes its PointerScope here, untimed
        t1 = time.perf_counter_ns()
        norm = AdamW.clip_grad_norm(params, 1.0)
        opt.update(1e-4)
        AdamW.zero_grad(params)
        if i >= warmup:
            times.append((t0 + time.perf_counter_ns() - t1) / 1e6)
        losses.append((lv, aux, norm))
    matmul = matmul_gflops()                                               # measured last, as in TrainBench
    t = sorted(times)
    ms = t[len(t) // 2]
    s = c.patches() + text_len
    flops = step_flops(c, batch, s, b0.target_count)
    total_p, active_p = c.parameter_counts()
    achieved = flops / (ms / 1000) / 1e9
    return dict(preset=c.name, batch=batch, seqLen=s, msPerStep=ms, tokensPerSecond=batch * s / (ms / 1000),
                modelGflopPerStep=flops / 1e9, achievedGflops=achieved, matmulGflops=matmul, mfu=achieved / matmul,
                peakRssRusage=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, peakRssVmHWM=vm_hwm(),
                params=total_p, activeParams=active_p, paramsCounted=sum(p.numel() for p in params.values()),
                firstLoss=losses[0][0], firstAux=losses[0][1], lossAtInit=math.log(c.vocabSize),
                lastLoss=losses[-1][0], stepTimesMs=times, trace=[list(x) for x in losses])


def main():
    ap = argparse.ArgumentParser(description="PyTorch mirror of `m6j bench train`.")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--text-len", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup-steps", type=int, default=3)
    ap.add_argument("--dense", action="store_true", help="Replace MoE layers by dense FFNs.")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", action="store_true", help="Also print the result as one JSON line.")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    if os.environ.get("OMP_WAIT_POLICY", "").upper() != "PASSIVE":
        print("m6_train_step: warning: OMP_WAIT_POLICY is not PASSIVE", file=sys.stderr)
    c = preset(a.preset)
    if a.dense:
        c.moe = MoeConfig()
    r = run(c, a.batch_size, a.text_len, a.warmup_steps, a.steps)
    mib = lambda x: "n/a" if x < 0 else "%.0f MiB" % (x / 1048576.0)
    print("python bench train %s: batch %d x %d positions, %s params (%s active)" % (
        r["preset"], r["batch"], r["seqLen"], format(r["params"], ","), format(r["activeParams"], ",")))
    print("  %.1f ms/step  %.0f tokens/s  %.2f GFLOP/step  %.1f GFLOP/s achieved" % (
        r["msPerStep"], r["tokensPerSecond"], r["modelGflopPerStep"], r["achievedGflops"]))
    print("  matmul peak (1024^3 fp32, same run): %.1f GFLOP/s  ->  MFU %.1f%%" % (r["matmulGflops"], 100 * r["mfu"]))
    print("  peak RSS %s (getrusage; VmHWM %s)" % (mib(r["peakRssRusage"]), mib(r["peakRssVmHWM"])))
    print("  first-step loss %.4f (ln V = %.4f), aux %.5f; last loss %.4f; torch %s, %d threads" % (
        r["firstLoss"], r["lossAtInit"], r["firstAux"], r["lastLoss"], torch.__version__, torch.get_num_threads()))
    if a.json:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
