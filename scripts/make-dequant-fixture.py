#!/usr/bin/env python3
"""Writes the test fixture of WeightMatrixGgufPyTest: random stored rows of every quantized type this
runtime reads, each with its values as llama.cpp's gguf-py dequantizes them (an implementation independent
of ours). Run from the repository root:

    PYTHONPATH=../shared/peer/gguf-py:../shared/peer/pystub python3 scripts/make-dequant-fixture.py

Format (little-endian): int32 count, then per row: int32 ggml type code, int32 cols, int32 byte count,
the bytes, cols float32 values.
"""
import struct
import sys

import numpy as np
from gguf.constants import GGMLQuantizationType as T, GGML_QUANT_SIZES
from gguf.quants import dequantize

OUT = "runtime/model/src/test/resources/io/clusterkv/runtime/tensor/gguf-py-dequantized.bin"
# (type, byte offsets of its f16 scales within a block)
TYPES = [
    (T.Q8_0, [0]), (T.Q4_0, [0]), (T.Q4_1, [0, 2]), (T.Q5_0, [0]), (T.Q5_1, [0, 2]),
    (T.Q4_K, [0, 2]), (T.Q5_K, [0, 2]), (T.Q6_K, [208]), (T.IQ4_NL, [0]),
]
COLS = 512

rng = np.random.default_rng(20261207)
rows = []
for qtype, scale_offsets in TYPES:
    block, size = GGML_QUANT_SIZES[qtype]
    raw = bytearray(rng.integers(0, 256, size=COLS // block * size, dtype=np.uint8).tobytes())
    for b in range(COLS // block):
        for off in scale_offsets:
            mag = (1 + rng.random()) * 2.0 ** -int(rng.integers(0, 9))
            value = np.float16(-mag if rng.random() < 0.5 else mag)
            raw[b * size + off:b * size + off + 2] = value.tobytes()
    values = dequantize(np.frombuffer(bytes(raw), dtype=np.uint8).reshape(1, -1), qtype).astype(np.float32).reshape(-1)
    assert values.shape == (COLS,) and np.all(np.isfinite(values)), qtype
    rows.append((int(qtype), bytes(raw), values))

with open(OUT, "wb") as f:
    f.write(struct.pack("<i", len(rows)))
    for code, raw, values in rows:
        f.write(struct.pack("<iii", code, COLS, len(raw)))
        f.write(raw)
        f.write(values.astype("<f4").tobytes())
print("wrote", OUT, len(rows), "rows", file=sys.stderr)
