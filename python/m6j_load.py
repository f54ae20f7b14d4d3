#!/usr/bin/python3
"""
Loads an m6j checkpoint into a PyTorch nn.Module, and exports it to ONNX.

    from m6j_load import load
    model, tokenizer = load("work/quickstart/run")          # a run directory (its newest checkpoint) or step-NNNNNN/
    logits = model(images, tokens, prefix)                   # uint8 (B, H, W, C), long (B, T), long (B,) -> (B, P+T, V)

    /usr/bin/python3 python/m6j_load.py CHECKPOINT                       # loads it, prints the shape, runs one forward
    /usr/bin/python3 python/m6j_load.py CHECKPOINT --onnx model.onnx     # and exports it (fixed input shapes)

It is the same network as m6j-core/src/main/java/m6j/model/{M6Model,Block,Attention,DenseFfn,MoeFfn,PrefixMask}.java, op for
op: the parameters have the checkpoint's names (state_dict() keys are the safetensors keys), are created in the Java
init order (so a seeded model draws the Java model's initial values: bench/python/m6_train_step.py uses that), and
MoE routing follows MoeFfn (top-k or k top-1, choice-major slots, capacity and dropping). A forward of the loaded
model gives the logits m6j's inference computes (ForwardContext.serving(): no token dropping), to about 1e-6;
m6j-cli/src/test/java/m6j/checkpoint/PythonLoaderTest.java checks 1e-5.

Needs only torch and numpy (Debian: apt-get install python3-torch); safetensors files are read by the small reader
below. The tokenizer is returned as a tokenizers.Tokenizer when that package is installed, else as the parsed
tokenizer.json and tokenizer_config.json.
"""
import argparse
import json
import math
import os
import re
import sys
import warnings

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- config.json (model.M6Config, model.MoeConfig)


class MoeConfig:
    def __init__(self, experts=0, every=0, topK=1, prototypes=1, capacityFactorTrain=1.25, capacityFactorEval=2.0,
                 minCapacity=4, dropTokens=True, auxLossWeight=0.0, zLossWeight=0.0, sharedExperts=0, biasUpdateRate=0.0,
                 dropless=False):
        self.experts, self.every, self.topK, self.prototypes = experts, every, topK, prototypes
        self.capacityFactorTrain, self.capacityFactorEval = capacityFactorTrain, capacityFactorEval
        self.minCapacity, self.dropTokens = minCapacity, dropTokens
        self.auxLossWeight, self.zLossWeight = auxLossWeight, zLossWeight
        # shared experts: a dense FFN beside the routed ones; biasUpdateRate > 0: a routing bias ("router.bias")
        # that chooses experts (not the gates); dropless: no capacity (the same outputs as capacity without drops)
        self.sharedExperts, self.biasUpdateRate, self.dropless = sharedExperts, biasUpdateRate, dropless

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
                 moe=None, shareLayers=False, itcDim=0):
        self.name, self.vocabSize, self.dModel, self.nLayers, self.nHeads, self.dFF = name, vocabSize, dModel, nLayers, nHeads, dFF
        self.maxTextLen, self.imageSize, self.patchSize, self.channels = maxTextLen, imageSize, patchSize, channels
        self.moe = moe if moe is not None else MoeConfig()
        self.shareLayers, self.itcDim = shareLayers, itcDim

    @staticmethod
    def from_json(o):
        """A config.json or a presets.json entry. model_type and architectures (absent in older checkpoints) are
        Hugging Face's keys, not part of the shape."""
        o = {k: v for k, v in o.items() if k not in ("model_type", "architectures")}
        moe = MoeConfig(**o.pop("moe")) if o.get("moe") is not None else MoeConfig()
        o.pop("moe", None)
        return M6Config(moe=moe, **o)

    def head_dim(self):
        return self.dModel // self.nHeads

    def patches(self):
        return (self.imageSize // self.patchSize) ** 2

    def patch_dim(self):
        return self.channels * self.patchSize * self.patchSize

    def parameter_counts(self):
        """M6Config.parameterCounts: total, and active per token."""
        d, f = self.dModel, self.dFF
        attn, ln, dense = 4 * d * d + 4 * d, 4 * d, 2 * d * f + f + d
        total = self.vocabSize * d + self.maxTextLen * d + self.patches() * d + self.patch_dim() * d + d + 2 * d
        total += 2 * self.itcDim * d + (1 if self.itcDim > 0 else 0)
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


# ---------------------------------------------------------------- the model


def prefix_mask(prefix, seq_len):
    """PrefixMask.of(prefix, seqLen, 0): (B, 1, S, S), true = may attend; j < prefix[b] (bidirectional) or j <= i."""
    i = torch.arange(seq_len).view(seq_len, 1)
    j = torch.arange(seq_len).view(1, seq_len)
    return ((j <= i).unsqueeze(0) | (j < prefix.view(-1, 1, 1))).unsqueeze(1)


class M6ForPrefixLM(torch.nn.Module):
    """M6: one pre-LN transformer over [image patches][text tokens] with a prefix-LM mask and the LM head tied to the
    token embedding. Parameters are registered under the checkpoint's dotted names (see _param)."""

    def __init__(self, config, seed=None, dtype=torch.float32):
        super().__init__()
        self.config, self.dtype = config, dtype
        self.tensors = {}                                       # checkpoint name -> Parameter, in Java init order
        if seed is not None:
            torch.manual_seed(seed)
        c, d = config, config.dModel
        self._normal("tok.weight", 0.02, c.vocabSize, d)
        self._normal("pos_text", 0.01, c.maxTextLen, d)
        self._normal("pos_image", 0.01, c.patches(), d)
        self._normal("patch.weight", 0.02, d, c.patch_dim())
        self._zeros("patch.bias", d)
        self.layers = []                                        # (prefix, is_moe) of each layer
        proj_std = 0.02 / math.sqrt(2.0 * c.nLayers)
        for l in range(c.nLayers):                              # Block, Attention, DenseFfn / MoeFfn
            pre = "blocks.%d." % (0 if c.shareLayers else l)
            moe = c.moe.is_moe_layer(l)
            self._ones(pre + "ln1.weight", d)
            self._zeros(pre + "ln1.bias", d)
            self._normal(pre + "attn.qkv.weight", 0.02, 3 * d, d)
            self._zeros(pre + "attn.qkv.bias", 3 * d)
            self._normal(pre + "attn.proj.weight", proj_std, d, d)
            self._zeros(pre + "attn.proj.bias", d)
            self._ones(pre + "ln2.weight", d)
            self._zeros(pre + "ln2.bias", d)
            if moe:
                e, f = c.moe.experts, c.dFF
                self._normal(pre + "moe.router.weight", 0.02, e, d)
                self._normal(pre + "moe.w1", 0.02, e, d, f)
                self._zeros(pre + "moe.b1", e, 1, f)
                self._normal(pre + "moe.w2", proj_std, e, f, d)
                self._zeros(pre + "moe.b2", e, 1, d)
                if c.moe.biasUpdateRate > 0:                    # bias balancing: chooses experts, not a weight
                    self._zeros(pre + "moe.router.bias", e)
                if c.moe.sharedExperts > 0:                     # always-on experts: one FFN of their summed width
                    w = c.moe.sharedExperts * f
                    self._normal(pre + "moe.shared.fc1.weight", 0.02, w, d)
                    self._zeros(pre + "moe.shared.fc1.bias", w)
                    self._normal(pre + "moe.shared.fc2.weight", proj_std, d, w)
                    self._zeros(pre + "moe.shared.fc2.bias", d)
            else:
                self._normal(pre + "ffn.fc1.weight", 0.02, c.dFF, d)
                self._zeros(pre + "ffn.fc1.bias", c.dFF)
                self._normal(pre + "ffn.fc2.weight", proj_std, d, c.dFF)
                self._zeros(pre + "ffn.fc2.bias", d)
            self.layers.append((pre, moe))
        self._ones("ln_f.weight", d)
        self._zeros("ln_f.bias", d)
        if c.itcDim > 0:                                        # image-text alignment heads (the itc objective)
            self._normal("itc.image.weight", 1 / math.sqrt(d), c.itcDim, d)
            self._normal("itc.text.weight", 1 / math.sqrt(d), c.itcDim, d)
            self._param("itc.logit_scale", lambda: torch.ones(1).to(dtype).mul(math.log(1 / 0.07)))

    # Params.getOrCreate: a name made once (shared layers alias), initial values drawn as Tensors.normal does.
    def _param(self, name, init):
        if name in self.tensors:
            return
        p = torch.nn.Parameter(init().to(self.dtype).detach())
        owner = self
        *path, leaf = name.split(".")
        for part in path:                                       # "blocks.0.attn.qkv.weight": submodules blocks/0/attn/qkv
            if not hasattr(owner, part) or not isinstance(getattr(owner, part), torch.nn.Module):
                owner.add_module(part, torch.nn.Module())
            owner = getattr(owner, part)
        owner.register_parameter(leaf, p)
        self.tensors[name] = p

    def _normal(self, name, std, *shape):
        self._param(name, lambda: torch.randn(*shape).to(self.dtype).mul_(std))

    def _zeros(self, name, *shape):
        self._param(name, lambda: torch.zeros(*shape).to(self.dtype))

    def _ones(self, name, *shape):
        self._param(name, lambda: torch.ones(*shape).to(self.dtype))

    # ------------------------------------------------------------ forward

    def embed_images(self, images):
        """uint8 (B, H, W, C) -> (B, P, d): patches linearly embedded plus their positions."""
        c, t = self.config, self.tensors
        p, g = c.patchSize, c.imageSize // c.patchSize
        x = images.to(self.dtype).div(127.5).sub(1.0)
        patches = x.reshape(-1, g, p, g, p, c.channels).permute(0, 1, 3, 2, 4, 5).reshape(-1, g * g, c.patch_dim())
        return F.linear(patches, t["patch.weight"], t["patch.bias"]).add(t["pos_image"])

    def embed_tokens(self, tokens, pos0=0):
        t = self.tensors
        return F.embedding(tokens, t["tok.weight"]).add(t["pos_text"].narrow(0, pos0, tokens.shape[1]))

    def hidden(self, images, tokens, mask, text_pos0=0, training=False, drop_tokens=False, aux=None):
        """M6Model.forward: final hidden states (B, S, d). images or tokens may be None; mask (B, 1, S, S) bool or
        None (attend everywhere). drop_tokens: MoE capacity and dropping as in training and eval; False is what
        m6j's inference does (ForwardContext.serving). aux: a list that collects the MoE auxiliary losses."""
        parts = []
        if images is not None:
            parts.append(self.embed_images(images))
        if tokens is not None:
            parts.append(self.embed_tokens(tokens, text_pos0))
        x = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
        d = self.config.dModel
        t = self.tensors
        for pre, moe in self.layers:
            x = x.add(self._attention(F.layer_norm(x, (d,), t[pre + "ln1.weight"], t[pre + "ln1.bias"], 1e-5), mask, pre))
            h = F.layer_norm(x, (d,), t[pre + "ln2.weight"], t[pre + "ln2.bias"], 1e-5)
            x = x.add(self._moe(h, pre + "moe.", training, drop_tokens, aux) if moe else self._dense(h, pre + "ffn."))
        return F.layer_norm(x, (d,), t["ln_f.weight"], t["ln_f.bias"], 1e-5)

    def logits(self, h):
        """Through the tied token embedding: (..., d) -> (..., V)."""
        return F.linear(h, self.tensors["tok.weight"])

    def forward(self, images, tokens, prefix):
        """Logits (B, P+T, V) of [images][tokens] as m6j's inference computes them. prefix (B,) long: how many leading
        positions (patches and source text) are read bidirectionally, as PrefixMask.of takes it."""
        s = (self.config.patches() if images is not None else 0) + tokens.shape[1]
        return self.logits(self.hidden(images, tokens, prefix_mask(prefix, s)))

    def _attention(self, x, mask, pre):
        """Attention.forward; the attention itself written out (softmax(q k^T / sqrt(hd)) v with the boolean mask),
        as scaled_dot_product_attention computes it, so that it also exports to ONNX."""
        t = self.tensors
        b, s, d = x.shape
        h, hd = self.config.nHeads, self.config.head_dim()
        qkv = F.linear(x, t[pre + "attn.qkv.weight"], t[pre + "attn.qkv.bias"]).view(b, s, 3, h, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                                     # (B, H, S, hd)
        att = torch.matmul(q, k.transpose(-2, -1)).mul(1.0 / math.sqrt(hd))
        if mask is not None:
            att = att.masked_fill(~mask, float("-inf"))
        y = torch.matmul(torch.softmax(att, -1), v)
        return F.linear(y.transpose(1, 2).reshape(b, s, d), t[pre + "attn.proj.weight"], t[pre + "attn.proj.bias"])

    def _dense(self, x, pre):
        t = self.tensors
        return F.linear(F.gelu(F.linear(x, t[pre + "fc1.weight"], t[pre + "fc1.bias"])), t[pre + "fc2.weight"], t[pre + "fc2.bias"])

    def _moe(self, x, pre, training, drop_tokens, aux):
        """MoeFfn.forward: route, place each assignment in its expert's slot (choice-major: every token's first choice
        before any second one), run the experts as two batched matmuls over (E, C, d), gather back weighted by the
        gates. Assignments past an expert's capacity C are dropped (output 0) when drop_tokens and the config drop."""
        m, t = self.config.moe, self.tensors
        b, s, d = x.shape
        n, e, k, groups = b * s, m.experts, m.k(), m.prototypes
        xf = x.reshape(n, d)
        logits = F.linear(xf, t[pre + "router.weight"])                      # (N, E)
        bias = t.get(pre + "router.bias")                                  # bias balancing: chooses, does not weigh
        if groups > 1:                                                       # k top-1 inside each prototype group
            per = e // groups
            probs = torch.softmax(logits.view(n, groups, per), -1)
            gates, top = probs.max(-1) if bias is None else probs.add(bias.view(1, groups, per)).max(-1)
            if bias is not None:
                gates = probs.gather(-1, top.unsqueeze(-1)).squeeze(-1)
            idx = top.add(torch.arange(groups).mul(per).view(1, groups))
            probs = probs.view(n, e)
        else:
            probs = torch.softmax(logits, -1)
            gates, idx = torch.topk(probs if bias is None else probs.add(bias.view(1, e)), k, -1, True, True)
            if bias is not None:
                gates = probs.gather(1, idx)
            if k > 1:
                gates = gates.div(gates.sum(-1, keepdim=True))
        choice = idx.t().reshape(-1)                                         # (k*N) assignments, choice-major
        a = k * n
        onehot = F.one_hot(choice, e)                                        # (A, E)
        pos = onehot.cumsum(0).mul(onehot).sum(1).sub(1)                     # pos[i] = count[choice[i]]++
        count = onehot.sum(0)
        if m.dropTokens and drop_tokens and not m.dropless:
            cap = m.capacity(n, training)
        elif torch.jit.is_tracing():
            cap = n                                                          # room for any routing (an export's graph)
        else:
            cap = int(max(1, int(count.max())))                              # room for the busiest expert
        keep = pos < cap
        slot = torch.where(keep, choice * cap + pos, torch.full_like(pos, e * cap))
        token = torch.arange(a) % n
        slot_token = torch.full((e * cap + 1,), n, dtype=torch.long).scatter(0, slot, token).narrow(0, 0, e * cap)
        xpad = torch.cat([xf, torch.zeros(1, d, dtype=xf.dtype)], 0)         # row n of xpad is zeros: an empty slot
        disp = xpad.index_select(0, slot_token).view(e, cap, d)              # (E, C, d)
        if aux is not None and (m.auxLossWeight > 0 or m.zLossWeight > 0):
            aux.append(self._aux_loss(logits, probs, count, a))
        h = F.gelu(torch.baddbmm(t[pre + "b1"], disp, t[pre + "w1"]))      # (E, C, f)
        out = torch.baddbmm(t[pre + "b2"], h, t[pre + "w2"]).view(e * cap, d)
        out_pad = torch.cat([out, torch.zeros(1, d, dtype=out.dtype)], 0)    # dropped assignments read the zero row
        y = out_pad.index_select(0, slot).mul(gates.t().reshape(a, 1)).view(k, n, d).sum(0)
        if m.sharedExperts > 0:                                              # always-on experts: one dense FFN
            y = y.add(self._dense(xf, pre + "shared."))
        return y.view(b, s, d)

    def _aux_loss(self, logits, probs, count, assignments):
        """MoeFfn.auxLoss: E/G * sum_e(frac_e * meanprob_e) times its weight, plus the router z-loss."""
        m = self.config.moe
        frac = count.to(torch.float64).div(assignments).to(probs.dtype)
        balance = probs.mean(0).mul(frac).sum().mul(float(m.experts) / m.prototypes)
        loss = balance.mul(m.auxLossWeight)
        if m.zLossWeight > 0:
            z = torch.logsumexp(logits, -1)
            loss = loss.add(z.mul(z).mean().mul(m.zLossWeight))
        return loss


# ---------------------------------------------------------------- checkpoint files

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64,
          "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}


def read_safetensors(path):
    """{name: tensor} and the metadata of a safetensors file (8-byte little-endian header length, JSON header, data),
    one tensor read at a time."""
    out = {}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        meta = header.pop("__metadata__", {})
        for name, info in header.items():
            start, end = info["data_offsets"]
            dtype = DTYPES[info["dtype"]]
            f.seek(8 + n + start)
            data = bytearray(f.read(end - start))
            if len(data) != end - start:
                raise SystemExit("m6j_load: %s is cut short (tensor '%s')" % (path, name))
            t = torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
            out[name] = t.reshape(info["shape"])
    return out, meta


PER_EXPERT = re.compile(r"(.+)\.experts\.(\d+)\.(w1|b1|w2|b2)$")


def read_weights(ckpt):
    """The full model's tensors of a checkpoint directory: the files model.safetensors.index.json lists (or
    model.safetensors alone), and expert shards. Expert weights stored per expert ("blocks.1.moe.experts.3.w1") are
    stacked into the model's batched tensors; older expert-parallel checkpoints hold the same name in every
    experts-II-of-NN file (a dim-0 slice), concatenated in shard order as Safetensors.readFull does."""
    index = os.path.join(ckpt, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"] + sorted(x for x in os.listdir(ckpt) if re.fullmatch(r"experts-\d{2}-of-\d{2}\.safetensors", x))
    parts, experts = {}, {}
    for fn in files:
        for name, t in read_safetensors(os.path.join(ckpt, fn))[0].items():
            m = PER_EXPERT.fullmatch(name)
            if m:
                experts.setdefault(m.group(1) + "." + m.group(3), {})[int(m.group(2))] = t
            else:
                parts.setdefault(name, []).append(t)
    out = {name: ts[0] if len(ts) == 1 else torch.cat(ts, 0) for name, ts in parts.items()}
    for name, by in experts.items():
        out[name] = torch.stack([by[i] for i in range(len(by))], 0)
    return out


def checkpoint_dir(path):
    """A checkpoint directory itself, or a run directory's newest checkpoint (by step, as Checkpoint.latest; only
    complete ones are renamed into step-NNNNNN)."""
    if os.path.isfile(os.path.join(path, "config.json")):
        return path
    root = os.path.join(path, "checkpoints")
    steps = sorted((int(m.group(1)), m.group(0)) for m in (re.fullmatch(r"step-(\d{6,})", x) for x in
                   (os.listdir(root) if os.path.isdir(root) else [])) if m)
    if not steps:
        raise SystemExit("m6j_load: no checkpoint at %s (expected config.json or checkpoints/step-NNNNNN)" % path)
    return os.path.join(root, steps[-1][1])


def load_tokenizer(ckpt):
    """tokenizers.Tokenizer of tokenizer.json when that package is installed, else a dict of the parsed
    tokenizer.json ("tokenizer") and tokenizer_config.json ("config": bos/eos/pad tokens, chat template)."""
    cfg_path = os.path.join(ckpt, "tokenizer_config.json")
    config = json.load(open(cfg_path)) if os.path.isfile(cfg_path) else {}
    try:
        from tokenizers import Tokenizer
        return Tokenizer.from_file(os.path.join(ckpt, "tokenizer.json"))
    except ImportError:
        with open(os.path.join(ckpt, "tokenizer.json")) as f:
            return {"tokenizer": json.load(f), "config": config}


def load(path, dtype=torch.float32):
    """(model in eval mode, tokenizer) of an m6j checkpoint directory or run directory."""
    ckpt = checkpoint_dir(path)
    if os.path.isfile(os.path.join(ckpt, "adapter_config.json")):
        raise SystemExit("m6j_load: %s is a LoRA adapter; fold it into its base first: ./m6j merge" % ckpt)
    with open(os.path.join(ckpt, "config.json")) as f:
        config = M6Config.from_json(json.load(f))
    model = M6ForPrefixLM(config, dtype=dtype)
    weights = read_weights(ckpt)
    missing = [n for n in model.tensors if n not in weights]
    if missing:
        raise SystemExit("m6j_load: %s: missing tensor(s) %s" % (ckpt, ", ".join(missing[:5])))
    with torch.no_grad():
        for name, p in model.tensors.items():
            if tuple(weights[name].shape) != tuple(p.shape):
                raise SystemExit("m6j_load: %s: tensor '%s' has shape %s, the config says %s"
                                 % (ckpt, name, list(weights[name].shape), list(p.shape)))
            p.copy_(weights[name].to(dtype))
    return model.eval(), load_tokenizer(ckpt)


# ---------------------------------------------------------------- ONNX


def export_onnx(model, images, tokens, prefix, path, opset=14):
    """model.forward(images, tokens, prefix) -> logits as an ONNX graph at these input shapes (MoE routing sizes its
    buffers from them). Needs no onnx package; torch.onnx does the export."""
    names = (["images"] if images is not None else []) + ["tokens", "prefix"]
    args = (images, tokens, prefix)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)         # shapes become constants: intended here
        torch.onnx.export(model, args, path, input_names=names, output_names=["logits"], opset_version=opset,
                          do_constant_folding=True)
    return path


def check(model, expected, onnx_path=None):
    """Max abs differences from the logits in expected (a safetensors file of inputs and m6j's logits for them:
    images, tokens, prefix, logits, text_prefix, text_logits, as PythonLoaderTest writes it); with onnx_path, the
    model is also exported there and the exported graph run on the same inputs (m6j_onnx.run)."""
    e, _ = read_safetensors(expected)
    with torch.no_grad():
        logits = model(e["images"], e["tokens"], e["prefix"])
        text = model(None, e["tokens"], e["text_prefix"])
    r = {"maxAbsDiff": float(logits.sub(e["logits"]).abs().max()), "textMaxAbsDiff": float(text.sub(e["text_logits"]).abs().max())}
    if onnx_path:
        import m6j_onnx
        export_onnx(model, e["images"], e["tokens"], e["prefix"], onnx_path)
        feeds = {"images": e["images"].numpy(), "tokens": e["tokens"].numpy(), "prefix": e["prefix"].numpy()}
        out = m6j_onnx.run(onnx_path, feeds)[0]                     # onnx.checker passed inside run
        r["onnx"] = {"checked": True, "bytes": os.path.getsize(onnx_path),
                     "maxAbsDiff": float(abs(out - e["logits"].numpy()).max())}
    return r


def main():
    ap = argparse.ArgumentParser(description="Load an m6j checkpoint into PyTorch (and export it to ONNX).")
    ap.add_argument("checkpoint", help="a checkpoint directory (step-NNNNNN) or a run directory")
    ap.add_argument("--text", type=int, default=8, help="tokens in the example forward (default 8)")
    ap.add_argument("--onnx", help="write the model as ONNX here (inputs: one image and --text tokens)")
    ap.add_argument("--check", help="compare with m6j's logits in this safetensors file (see check()); prints JSON")
    a = ap.parse_args()
    model, tok = load(a.checkpoint)
    if a.check:
        print(json.dumps(check(model, a.check, a.onnx)))
        return
    c = model.config
    total, active = c.parameter_counts()
    print("%s: %s, %d layers, d %d, %d experts, %s parameters (%s active)" % (
        checkpoint_dir(a.checkpoint), c.name, c.nLayers, c.dModel, c.moe.experts, format(total, ","), format(active, ",")))
    images = torch.zeros(1, c.imageSize, c.imageSize, c.channels, dtype=torch.uint8)
    tokens = torch.full((1, a.text), 1, dtype=torch.long)
    prefix = torch.tensor([c.patches() + 1])
    with torch.no_grad():
        out = model(images, tokens, prefix)
    print("logits %s for a grey image and %d tokens" % (list(out.shape), a.text))
    if a.onnx:
        export_onnx(model, images, tokens, prefix, a.onnx)
        print("wrote %s" % a.onnx)


if __name__ == "__main__":
    main()
