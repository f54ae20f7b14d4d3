#!/usr/bin/env bash
# A dataset m6j has never seen, in the shape users bring: an image folder with metadata.jsonl (Hugging Face
# "imagefolder"). Source: the 1,797 8x8 handwritten digits shipped in Debian's python3-sklearn (BSD-3), fetched
# with apt-get download and unpacked locally (nothing is installed). Usage: scripts/digits-folder.sh OUT_DIR
set -euo pipefail
out="${1:?usage: scripts/digits-folder.sh OUT_DIR}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q python3-sklearn >/dev/null && dpkg -x python3-sklearn_*.deb x)
csv="$(find "$tmp/x" -name digits.csv.gz | head -1)"
mkdir -p "$out"
python3 - "$csv" "$out" <<'PY'
import gzip, json, os, struct, sys, zlib
csv, out = sys.argv[1], sys.argv[2]
names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

def png(path, pixels, w, h):
    raw = b"".join(b"\x00" + bytes(pixels[y * w:(y + 1) * w]) for y in range(h))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

with gzip.open(csv, "rt") as f, open(os.path.join(out, "metadata.jsonl"), "w") as meta:
    for i, line in enumerate(f):
        v = [int(x) for x in line.strip().split(",")]
        label = names[v[64]]
        os.makedirs(os.path.join(out, label), exist_ok=True)
        name = f"{label}/{i:04d}.png"
        png(os.path.join(out, name), [255 - min(255, p * 16) for p in v[:64]], 8, 8)   # dark ink on white
        meta.write(json.dumps({"file_name": name, "text": f"a handwritten digit {label}", "label": label}) + "\n")
print(f"{i + 1} images -> {out}/metadata.jsonl")
PY
