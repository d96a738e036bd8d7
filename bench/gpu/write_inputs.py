"""Writes golden inputs without outputs (cases that only run, for timing) in ONNX's test-data
layout, without the `onnx` package: OUT_DIR/test_data_set_K/input_0.pb, a TensorProto of float32
[BATCH, 3, SIZE, SIZE] with the name NAME, random normal values (seed 0).

    python3 write_inputs.py OUT_DIR SETS BATCH SIZE NAME

Uses numpy, else PyTorch, else the standard library (slower)."""
import os
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, wire, payload):
    return varint(number << 3 | wire) + payload


def tensor_proto(name, dims, raw):
    # TensorProto: dims = 1 (packed int64), data_type = 2 (FLOAT = 1), name = 8, raw_data = 9.
    packed = b"".join(varint(d) for d in dims)
    return (field(1, 2, varint(len(packed)) + packed) + field(2, 0, varint(1))
            + field(8, 2, varint(len(name.encode())) + name.encode())
            + field(9, 2, varint(len(raw)) + raw))


_block = []


def random_bytes(count, seed):
    try:
        import numpy as np
        return np.random.default_rng(seed).standard_normal(count).astype("<f4").tobytes()
    except ImportError:
        pass
    try:
        import torch
        g = torch.Generator().manual_seed(seed)
        return bytes(torch.randn(count, generator=g, dtype=torch.float32).untyped_storage())
    except ImportError:
        pass
    # Neither: the standard library's generator once (seed 0), the block rotated per set.
    if not _block:
        import array
        import random
        r = random.Random(0)
        _block.append(array.array("f", (r.gauss(0.0, 1.0) for _ in range(count))).tobytes())
    block = _block[0]
    shift = (seed * 4 * 997) % len(block)
    return block[shift:] + block[:shift]


def main():
    out, sets, batch, size, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    dims = [batch, 3, size, size]
    count = batch * 3 * size * size
    for k in range(sets):
        d = os.path.join(out, f"test_data_set_{k}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "input_0.pb"), "wb") as f:
            f.write(tensor_proto(name, dims, random_bytes(count, k)))
    print(f"{sets} sets of {batch} images {size}x{size} in {out}")


if __name__ == "__main__":
    assert struct.calcsize("<f") == 4
    main()
