#!/usr/bin/env python3
"""Checks for scripts/chaos-train.sh, without torch: safetensors is an 8-byte little-endian header length, a JSON
header ({name: {dtype, shape, data_offsets}, "__metadata__": {...}}) and the raw tensor bytes.

  chaos-check.py latest RUN             the step of the newest checkpoint of RUN that is complete (the same rules as
                                        Checkpoint.validate: required files non-empty, each safetensors as long as
                                        its header says, JSON files parse, all expert shards), or -1; one line on
                                        stderr per skipped checkpoint
  chaos-check.py same CKPT_A CKPT_B     exit 0 when every tensor of every *.safetensors file of A equals B's bit for
                                        bit (same names, dtypes, shapes and bytes) and trainer.json agrees on step,
                                        seed, optimizerStep and data position; prints one line saying what matched
"""
import json
import os
import re
import struct
import sys

REQUIRED = ["model.safetensors", "optimizer.safetensors", "config.json", "tokenizer.json", "trainer.json"]
JSON_FILES = {"config.json", "tokenizer.json", "tokenizer_config.json", "trainer.json", "adapter_config.json",
              "model.safetensors.index.json"}
STEP_DIR = re.compile(r"step-(\d{6,})$")
SHARD = re.compile(r"(.+experts)-\d{2}-of-(\d{2})\.safetensors$")


def header(path):
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise ValueError(f"{os.path.basename(path)} has no header")
        n = struct.unpack("<Q", raw)[0]
        h = f.read(n)
        if len(h) < n:
            raise ValueError(f"{os.path.basename(path)} header cut short")
    return 8 + n, json.loads(h)


def validate(d):
    for f in REQUIRED:
        p = os.path.join(d, f)
        if not os.path.isfile(p):
            raise ValueError(f"{f} is missing")
        if os.path.getsize(p) == 0:
            raise ValueError(f"{f} is 0 bytes")
    have, of = {}, {}
    for f in sorted(os.listdir(d)):
        p = os.path.join(d, f)
        if not os.path.isfile(p):
            continue
        if f.endswith(".safetensors"):
            base, h = header(p)
            end = max([v["data_offsets"][1] for k, v in h.items() if k != "__metadata__"] or [0])
            if base + end != os.path.getsize(p):
                raise ValueError(f"{f} is {os.path.getsize(p)} bytes, its header says {base + end}")
        elif f in JSON_FILES:
            with open(p) as fh:
                if not isinstance(json.load(fh), dict):
                    raise ValueError(f"{f} is not a JSON object")
        m = SHARD.match(f)
        if m:
            have[m.group(1)] = have.get(m.group(1), 0) + 1
            of[m.group(1)] = max(of.get(m.group(1), 0), int(m.group(2)))
    for k, v in have.items():
        if v != of[k]:
            raise ValueError(f"has {v} of {of[k]} {k} shards")


def latest(run):
    root = os.path.join(run, "checkpoints")
    steps = []
    if os.path.isdir(root):
        for f in os.listdir(root):
            m = STEP_DIR.match(f)
            if m and os.path.isdir(os.path.join(root, f)):
                steps.append((int(m.group(1)), os.path.join(root, f)))
    for step, d in sorted(steps, reverse=True):
        try:
            validate(d)
            return step
        except (ValueError, OSError) as e:
            print(f"chaos-check: skipping incomplete checkpoint {d}: {e}", file=sys.stderr)
    return -1


def tensors(path):
    base, h = header(path)
    out = {}
    with open(path, "rb") as f:
        for k, v in h.items():
            if k == "__metadata__":
                continue
            a, b = v["data_offsets"]
            f.seek(base + a)
            out[k] = (v["dtype"], tuple(v["shape"]), f.read(b - a))
    return out, h.get("__metadata__", {})


def same(a, b):
    files = sorted(f for f in os.listdir(a) if f.endswith(".safetensors"))
    if files != sorted(f for f in os.listdir(b) if f.endswith(".safetensors")):
        print(f"DIFFERENT: safetensors files {files} vs {sorted(os.listdir(b))}")
        return 1
    count, nbytes, identical = 0, 0, 0
    for f in files:
        ta, ma = tensors(os.path.join(a, f))
        tb, mb = tensors(os.path.join(b, f))
        if ta.keys() != tb.keys():
            print(f"DIFFERENT: {f}: tensor names differ ({sorted(set(ta) ^ set(tb))[:5]})")
            return 1
        for k in ta:
            if ta[k] != tb[k]:
                kind = "bytes" if ta[k][:2] == tb[k][:2] else "dtype/shape"
                print(f"DIFFERENT: {f}: tensor {k} differs ({kind})")
                return 1
            count += 1
            nbytes += len(ta[k][2])
        with open(os.path.join(a, f), "rb") as fa, open(os.path.join(b, f), "rb") as fb:
            identical += fa.read() == fb.read()
    keys = ("step", "seed", "optimizerStep", "position")
    ja, jb = (json.load(open(os.path.join(d, "trainer.json"))) for d in (a, b))
    for k in keys:
        if ja.get(k) != jb.get(k):
            print(f"DIFFERENT: trainer.json {k}: {ja.get(k)} vs {jb.get(k)}")
            return 1
    print(f"bit-equal: {count} tensors, {nbytes} bytes in {len(files)} files ({identical} of them byte-identical files); "
          f"trainer.json step {ja['step']}, optimizerStep {ja['optimizerStep']}, position {json.dumps(ja['position'])}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "latest":
        print(latest(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "same":
        sys.exit(same(sys.argv[2], sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
