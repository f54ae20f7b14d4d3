#!/usr/bin/python3
"""
A line-by-line PyTorch mirror of one m6j training step, for a speed comparison with `./m6j bench train`.

Mirrors (same parameter names, shapes, init order, ops and their order):
  src/main/java/m6j/model/{M6Model,Block,Attention,DenseFfn,MoeFfn,MoeConfig,M6Config,PrefixMask}.java
  src/main/resources/m6j/presets.json
  src/main/java/m6j/train/{TrainBench,Batch,AdamW,Trainer}.java

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
PRESETS = os.path.join(HERE, "..", "..", "src", "main", "resources", "m6j", "presets.json")


# ---------------------------------------------------------------- config (M6Config, MoeConfig, Presets)

class MoeConfig:
    def __init__(self, experts=0, every=0, topK=1, prototypes=1, capacityFactorTrain=1.25, capacityFactorEval=2.0,
                 minCapacity=4, dropTokens=True, auxLossWeight=0.0, zLossWeight=0.0):
        self.experts, self.every, self.topK, self.prototypes = experts, every, topK, prototypes
        self.capacityFactorTrain, self.capacityFactorEval = capacityFactorTrain, capacityFactorEval
        self.minCapacity, self.dropTokens = minCapacity, dropTokens
        self.auxLossWeight, self.zLossWeight = auxLossWeight, zLossWeight

    def enabled(self):
        return self.experts > 0

    def k(self):
        return self.prototypes if self.prototypes > 1 else self.topK

    def is_moe_layer(self, layer):
        return self.enabled() and (layer % self.every) == self.every - 1

    def capacity(self, tokens, training):
        cf = self.capacityFactorTrain if training else self.capacityFactorEval
        return int(max(self.minCapacity, math.ceil(self.k() * float(tokens) / self.experts * cf)))


class M6Config:
    def __init__(self, name, vocabSize, dModel, nLayers, nHeads, dFF, maxTextLen, imageSize, patchSize, channels,
                 moe=None, shareLayers=False):
        self.name, self.vocabSize, self.dModel, self.nLayers, self.nHeads, self.dFF = name, vocabSize, dModel, nLayers, nHeads, dFF
        self.maxTextLen, self.imageSize, self.patchSize, self.channels = maxTextLen, imageSize, patchSize, channels
        self.moe = moe if moe is not None else MoeConfig()
        self.shareLayers = shareLayers

    def head_dim(self):
        return self.dModel // self.nHeads

    def patches(self):
        return (self.imageSize // self.patchSize) ** 2

    def patch_dim(self):
        return self.channels * self.patchSize * self.patchSize

    def parameter_counts(self):
        d, f = self.dModel, self.dFF
        attn = 4 * d * d + 4 * d
        ln = 4 * d
        dense = 2 * d * f + f + d
        total = self.vocabSize * d + self.maxTextLen * d + self.patches() * d + self.patch_dim() * d + d + 2 * d
        active = total
        for l in range(self.nLayers):
            blk = attn + ln
            if self.moe.is_moe_layer(l):
                total += blk + self.moe.experts * dense + self.moe.experts * d
                active += blk + self.moe.k() * dense + self.moe.experts * d
            else:
                total += blk + dense
                active += blk + dense
        return total, active


def preset(name):
    with open(PRESETS) as f:
        allp = json.load(f)
    if name.startswith("_") or name not in allp:
        raise SystemExit("unknown preset '%s'" % name)
    o = dict(allp[name])
    moe = MoeConfig(**o.pop("moe")) if "moe" in o else MoeConfig()
    return M6Config(name=name, moe=moe, **o)


# ---------------------------------------------------------------- parameters (Params)

class Params:
    """Named leaf tensors, created on first use (shared names alias), drawn from the global torch generator."""

    def __init__(self, dtype=torch.float32):
        self.map = {}
        self.dtype = dtype

    def _get_or_create(self, name, init):
        if name not in self.map:
            t = init().to(self.dtype).detach()
            t.requires_grad_(True)
            self.map[name] = t
        return self.map[name]

    def normal(self, name, std, *shape):   # Tensors.normal: torch.randn(shape).to(dtype).mul_(std)
        return self._get_or_create(name, lambda: torch.randn(*shape).to(self.dtype).mul_(std))

    def zeros(self, name, *shape):
        return self._get_or_create(name, lambda: torch.zeros(*shape).to(self.dtype))

    def ones(self, name, *shape):
        return self._get_or_create(name, lambda: torch.ones(*shape).to(self.dtype))

    def named(self):
        return self.map


# ---------------------------------------------------------------- model (M6Model, Block, Attention, DenseFfn, MoeFfn)

class ForwardContext:
    def __init__(self, training):
        self.training = training
        self.aux = None

    def add_aux(self, t):
        self.aux = t if self.aux is None else self.aux.add(t)


def scaled_dot_product_attention(q, k, v, mask):
    """torch.scaled_dot_product_attention(q, k, v, mask, 0.0, False) of libtorch 2.x. Debian's torch 1.13 has only
    the private F._scaled_dot_product_attention (same boolean-mask meaning: true = may attend), which runs the math
    path (matmul, masked softmax, matmul) on the CPU."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, is_causal=False)
    return F._scaled_dot_product_attention(q, k, v, mask, 0.0, False, False)[0]


class Attention:
    def __init__(self, p, prefix, c, layer):
        d = c.dModel
        self.heads, self.head_dim, self.layer = c.nHeads, c.head_dim(), layer
        self.wQkv = p.normal(prefix + "qkv.weight", 0.02, 3 * d, d)
        self.bQkv = p.zeros(prefix + "qkv.bias", 3 * d)
        self.wOut = p.normal(prefix + "proj.weight", 0.02 / math.sqrt(2.0 * c.nLayers), d, d)
        self.bOut = p.zeros(prefix + "proj.bias", d)

    def forward(self, x, mask):
        b, s, d = x.shape
        qkv = F.linear(x, self.wQkv, self.bQkv).view(b, s, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)
        y = scaled_dot_product_attention(q, k, v, mask)                      # (B, H, S, hd)
        y = y.transpose(1, 2).reshape(b, s, d)
        return F.linear(y, self.wOut, self.bOut)


class DenseFfn:
    def __init__(self, p, prefix, c):
        self.w1 = p.normal(prefix + "fc1.weight", 0.02, c.dFF, c.dModel)
        self.b1 = p.zeros(prefix + "fc1.bias", c.dFF)
        self.w2 = p.normal(prefix + "fc2.weight", 0.02 / math.sqrt(2.0 * c.nLayers), c.dModel, c.dFF)
        self.b2 = p.zeros(prefix + "fc2.bias", c.dModel)

    def forward(self, x, ctx):
        h = F.gelu(F.linear(x, self.w1, self.b1))
        return F.linear(h, self.w2, self.b2)


class MoeFfn:
    def __init__(self, p, prefix, c, layer):
        self.m = c.moe
        self.layer = layer
        self.experts, self.groups, self.k = self.m.experts, self.m.prototypes, self.m.k()
        d, f, e = c.dModel, c.dFF, self.experts
        self.router = p.normal(prefix + "router.weight", 0.02, e, d)
        self.w1 = p.normal(prefix + "w1", 0.02, e, d, f)
        self.b1 = p.zeros(prefix + "b1", e, 1, f)
        self.w2 = p.normal(prefix + "w2", 0.02 / math.sqrt(2.0 * c.nLayers), e, f, d)
        self.b2 = p.zeros(prefix + "b2", e, 1, d)

    def forward(self, x, ctx):
        b, s, d = x.shape
        n, e, k = b * s, self.experts, self.k
        xf = x.reshape(n, d)
        logits = F.linear(xf, self.router)                                  # (N, E)
        if self.groups > 1:                                                 # k top-1 (expert prototyping)
            per = e // self.groups
            probs = torch.softmax(logits.view(n, self.groups, per), -1)
            gates, top = probs.max(-1, keepdim=False)
            offs = torch.arange(self.groups, dtype=torch.long).mul(per).view(1, self.groups)
            idx = top.add(offs)
            probs = probs.view(n, e)
        else:
            probs = torch.softmax(logits, -1)
            gates, idx = torch.topk(probs, k, -1, True, True)
            if k > 1:
                gates = gates.div(gates.sum(-1, keepdim=True))
        # Choice-major assignments; the Java does this bookkeeping in plain loops, here numpy on the same arrays.
        choice = idx.t().contiguous().numpy().reshape(-1)                   # (k*N)
        a = choice.shape[0]
        count = np.bincount(choice, minlength=e)
        order = np.argsort(choice, kind="stable")
        starts = np.cumsum(count) - count
        pos = np.empty(a, dtype=np.int64)
        pos[order] = np.arange(a, dtype=np.int64) - starts[choice[order]]  # pos[i] = count[choice[i]]++
        cap = self.m.capacity(n, ctx.training) if self.m.dropTokens else int(max(1, count.max()))
        keep = pos < cap
        slot = np.where(keep, choice * cap + pos, e * cap).astype(np.int64)
        slot_token = np.full(e * cap, n, dtype=np.int64)                   # row n of xpad is zeros: empty slot
        slot_token[slot[keep]] = (np.arange(a, dtype=np.int64) % n)[keep]

        xpad = torch.cat([xf, torch.zeros(1, d).to(xf.dtype)], 0)           # (N+1, d)
        disp = xpad.index_select(0, torch.from_numpy(slot_token)).view(e, cap, d)
        aux = self.aux_loss(logits, probs, count, a) if self.m.auxLossWeight > 0 or self.m.zLossWeight > 0 else None
        h = F.gelu(torch.baddbmm(self.b1, disp, self.w1))                   # (E, C, f)
        out = torch.baddbmm(self.b2, h, self.w2).view(e * cap, d)
        out_pad = torch.cat([out, torch.zeros(1, d).to(out.dtype)], 0)
        y = (out_pad.index_select(0, torch.from_numpy(slot))
             .mul(gates.t().reshape(a, 1))
             .view(k, n, d).sum(0))
        if aux is not None:
            ctx.add_aux(aux)
        return y.view(b, s, d)

    def aux_loss(self, logits, probs, count, assignments):
        frac = torch.tensor(count.astype(np.float64) / assignments, dtype=torch.float64)
        mean_prob = probs.mean(0)
        balance = mean_prob.mul(frac.to(probs.dtype)).sum().mul(float(self.experts) / self.groups)
        loss = balance.mul(self.m.auxLossWeight)
        if self.m.zLossWeight > 0:
            z = torch.logsumexp(logits, -1)
            loss = loss.add(z.mul(z).mean().mul(self.m.zLossWeight))
        return loss


class Block:
    def __init__(self, p, c, layer):
        pre = "blocks.%d." % (0 if c.shareLayers else layer)
        self.d = c.dModel
        self.ln1w = p.ones(pre + "ln1.weight", c.dModel)
        self.ln1b = p.zeros(pre + "ln1.bias", c.dModel)
        self.attn = Attention(p, pre + "attn.", c, layer)
        self.ln2w = p.ones(pre + "ln2.weight", c.dModel)
        self.ln2b = p.zeros(pre + "ln2.bias", c.dModel)
        self.ffn = MoeFfn(p, pre + "moe.", c, layer) if c.moe.is_moe_layer(layer) else DenseFfn(p, pre + "ffn.", c)

    def forward(self, x, mask, ctx):
        x = x.add(self.attn.forward(F.layer_norm(x, (self.d,), self.ln1w, self.ln1b, 1e-5), mask))
        return x.add(self.ffn.forward(F.layer_norm(x, (self.d,), self.ln2w, self.ln2b, 1e-5), ctx))


class M6Model:
    def __init__(self, c, seed):
        self.config = c
        torch.manual_seed(seed)
        self.params = Params()
        p, d = self.params, c.dModel
        self.tok = p.normal("tok.weight", 0.02, c.vocabSize, d)
        self.posText = p.normal("pos_text", 0.01, c.maxTextLen, d)
        self.posImage = p.normal("pos_image", 0.01, c.patches(), d)
        self.patchW = p.normal("patch.weight", 0.02, d, c.patch_dim())
        self.patchB = p.zeros("patch.bias", d)
        self.blocks = [Block(p, c, l) for l in range(c.nLayers)]
        self.lnfW = p.ones("ln_f.weight", d)
        self.lnfB = p.zeros("ln_f.bias", d)

    def embed_images(self, images):
        c = self.config
        p, g, b = c.patchSize, c.imageSize // c.patchSize, images.shape[0]
        x = images.to(self.params.dtype).div(127.5).sub(1.0)              # [-1, 1]
        patches = x.view(b, g, p, g, p, c.channels).permute(0, 1, 3, 2, 4, 5).reshape(b, g * g, c.patch_dim())
        return F.linear(patches, self.patchW, self.patchB).add(self.posImage)

    def embed_tokens(self, tokens, pos0):
        t = tokens.shape[1]
        return F.embedding(tokens, self.tok).add(self.posText.narrow(0, pos0, t))

    def forward(self, images, tokens, text_pos0, mask, ctx):
        x = torch.cat([self.embed_images(images), self.embed_tokens(tokens, text_pos0)], 1)
        for blk in self.blocks:
            x = blk.forward(x, mask, ctx)
        return F.layer_norm(x, (self.config.dModel,), self.lnfW, self.lnfB, 1e-5)

    def logits(self, h):
        return F.linear(h, self.tok)


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
    h = model.forward(batch.images, batch.tokens, 0, batch.mask, ctx)     # (B, S, d)
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
    def clip_grad_norm(params, max_norm):
        sq = 0.0
        with torch.no_grad():
            for p in params.values():
                if p.grad is not None:
                    n = p.grad.norm()
                    sq += n.item() * n.item()
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
    model = M6Model(c, 1)
    params = model.params.named()
    opt = AdamW(params, weight_decay=0.05)
    rng = JavaRandom(1)
    times, losses = [], []
    b0 = bench_batch(c, batch, text_len, rng)
    for i in range(warmup + steps):
        b = bench_batch(c, batch, text_len, rng)
        t0 = time.perf_counter_ns()
        ctx = ForwardContext(True)
        loss = loss_of(model, b, ctx)
        total = loss if ctx.aux is None else loss.add(ctx.aux)
        total.backward()
        lv = loss.item()
        t0 = time.perf_counter_ns() - t0
        aux = ctx.aux.item() if ctx.aux is not None else 0.0               # untimed, as Java reads none
        del ctx, loss, total, b                                            # Java closes its PointerScope here, untimed
        t1 = time.perf_counter_ns()
        AdamW.clip_grad_norm(params, 1.0)
        opt.update(1e-4)
        AdamW.zero_grad(params)
        if i >= warmup:
            times.append((t0 + time.perf_counter_ns() - t1) / 1e6)
        losses.append((lv, aux))
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
                lastLoss=losses[-1][0], stepTimesMs=times)


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
