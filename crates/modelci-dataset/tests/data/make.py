"""Writes the small Parquet files of tests/parquet.rs (run from this folder; needs pyarrow).

- multi.parquet: 300 rows in 3 row groups of several data pages each (dictionary-encoded and
  plain), with nulls in every column, an unannotated binary column holding bytes that are not
  UTF-8, and a list column. tests/parquet.rs computes the same values from the row index.
- huge_num_rows.parquet: 3 rows, but a footer that claims 2**40 (a corrupt file).
"""

import struct

import pyarrow as pa
import pyarrow.parquet as pq

N = 300


def value_x(i):
    return None if i % 7 == 0 else i * 0.5


def value_cat(i):
    return None if i % 11 == 0 else f"c{i % 5}"


def value_n(i):
    return None if i % 3 == 0 else i - 150


def value_flag(i):
    return None if i % 4 == 0 else i % 2 == 1


def value_vec(i):
    if i % 9 == 0:
        return None
    if i % 17 == 0:
        return [0.5, None]  # a null element: missing as a whole
    return [float(i), float(i % 10)]


table = pa.table(
    {
        "x": pa.array([value_x(i) for i in range(N)], pa.float64()),
        "cat": pa.array([value_cat(i) for i in range(N)]).dictionary_encode(),
        "n": pa.array([value_n(i) for i in range(N)], pa.int64()),
        "flag": pa.array([value_flag(i) for i in range(N)], pa.bool_()),
        "vec": pa.array([value_vec(i) for i in range(N)], pa.list_(pa.float64())),
        "blob": pa.array([bytes([0xFF, i % 256]) for i in range(N)], pa.binary()),
    }
)
pq.write_table(
    table,
    "multi.parquet",
    row_group_size=100,
    data_page_size=64,
    write_batch_size=16,
    use_dictionary=["cat", "n"],
)
meta = pq.ParquetFile("multi.parquet").metadata
assert meta.num_row_groups == 3, meta

# A valid file, then its footer's num_rows (FileMetaData field 3, an i64 after the schema
# list) rewritten to 2**40.
pq.write_table(pa.table({"x": [1.0, 2.0, 3.0]}), "huge_num_rows.parquet")
data = open("huge_num_rows.parquet", "rb").read()
footer_len = struct.unpack("<I", data[-8:-4])[0]
footer = data[-8 - footer_len : -8]
at = footer.find(b"\x00\x16\x06")  # end of the schema list, field 3 header, zigzag(3)
assert at >= 0


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


footer = footer[:at] + b"\x00\x16" + varint((2**40) << 1) + footer[at + 3 :]
data = data[: -8 - footer_len] + footer + struct.pack("<I", len(footer)) + b"PAR1"
open("huge_num_rows.parquet", "wb").write(data)
assert pq.ParquetFile("huge_num_rows.parquet").metadata.num_rows == 2**40
