#!/usr/bin/python3
"""Writes the damaged and hostile neighbour-table files of tests/io/neighbor_table.test.cpp.

Run from this directory with Debian's /usr/bin/python3 (numpy):
    /usr/bin/python3 make_neighbor_table_cases.py

The format (include/dnn2brain/io/neighbor_table.hpp), little-endian: the magic b"D2BNTAB\\0"; a
header (uint32 version = 1, uint32 kind, int32 block radius, int32 block stride, uint64 shape[3],
float64 affine[16] row-major, uint64 mask_voxels, uint64 centers, uint64 columns); int32 centers
(i, j, k) × centers; int64 offsets × (centers + 1); int32 columns × columns; and the CRC-32 of
everything before it. Every case below carries a correct CRC unless it says otherwise, so that
the loader's own checks are what stops it.
"""

import zlib

import numpy as np

MAGIC = b"D2BNTAB\0"

HEADER = np.dtype(
    [
        ("version", "<u4"),
        ("kind", "<u4"),
        ("block_radius", "<i4"),
        ("block_stride", "<i4"),
        ("shape", "<u8", (3,)),
        ("affine", "<f8", (16,)),
        ("mask_voxels", "<u8"),
        ("centers", "<u8"),
        ("columns", "<u8"),
    ]
)


def table_bytes(
    shape=(4, 3, 2),
    mask_voxels=None,
    centers=((0, 0, 0), (1, 0, 0), (1, 2, 1)),
    offsets=(0, 2, 3, 5),
    columns=(0, 1, 1, 0, 23),
    kind=0,
    header_counts=None,
    crc=True,
):
    """A table file; header_counts=(centers, columns) overrides the counts the arrays give."""
    header = np.zeros((), dtype=HEADER)
    header["version"] = 1
    header["kind"] = kind
    header["block_radius"] = 1
    header["block_stride"] = 2
    header["shape"] = shape
    header["affine"] = np.eye(4).ravel()
    header["mask_voxels"] = int(np.prod(shape)) if mask_voxels is None else mask_voxels
    counts = (len(centers), len(columns)) if header_counts is None else header_counts
    header["centers"], header["columns"] = counts
    body = (
        MAGIC
        + header.tobytes()
        + np.asarray(centers, dtype="<i4").reshape(-1, 3).tobytes()
        + np.asarray(offsets, dtype="<i8").tobytes()
        + np.asarray(columns, dtype="<i4").tobytes()
    )
    checksum = zlib.crc32(body) if crc else zlib.crc32(body) ^ 1
    return body + np.uint32(checksum).astype("<u4").tobytes()


def main():
    cases = {
        # A valid table for comparison: 3 centres, 5 members.
        "neighbor_table_valid.d2bnt": table_bytes(),
        # A valid empty table (no centres, no members): the arrays are empty.
        "neighbor_table_empty.d2bnt": table_bytes(centers=(), offsets=(0,), columns=()),
        # The valid table cut short inside the member array.
        "neighbor_table_truncated.d2bnt": table_bytes()[:-7],
        # Counts of 2^61 centres and 2^62 members in a file of a few hundred bytes: a loader that
        # trusts them allocates exabytes (or overflows computing the size).
        "neighbor_table_huge_counts.d2bnt": table_bytes(header_counts=(1 << 61, 1 << 62)),
        # Counts chosen so that 12 c + 8 (c + 1) + 4 m wraps around 2^64 to the file's true size.
        "neighbor_table_wrapping_counts.d2bnt": table_bytes(
            header_counts=((1 << 64) // 20 + 1, 19)
        ),
        # Offsets that go down (3 after 4): member spans would run backwards.
        "neighbor_table_offsets_decreasing.d2bnt": table_bytes(offsets=(0, 4, 3, 5)),
        # Offsets that do not start at 0.
        "neighbor_table_offsets_start.d2bnt": table_bytes(offsets=(1, 2, 3, 5)),
        # A last offset beyond the member count.
        "neighbor_table_offsets_end.d2bnt": table_bytes(offsets=(0, 2, 3, 6)),
        # A member column equal to the mask's voxel count (one past the end).
        "neighbor_table_member_range.d2bnt": table_bytes(columns=(0, 1, 1, 0, 24)),
        # A negative member column.
        "neighbor_table_member_negative.d2bnt": table_bytes(columns=(0, -1, 1, 0, 2)),
        # More mask voxels than the grid holds.
        "neighbor_table_mask_voxels.d2bnt": table_bytes(mask_voxels=25),
        # A shape whose voxel count overflows 64 bits.
        "neighbor_table_shape_overflow.d2bnt": table_bytes(shape=(1 << 30, 1 << 30, 1 << 30)),
        # A centre outside the grid.
        "neighbor_table_center_outside.d2bnt": table_bytes(centers=((0, 0, 0), (1, 0, 0), (4, 0, 0))),
        # A corrupt checksum on an otherwise valid file.
        "neighbor_table_checksum.d2bnt": table_bytes(crc=False),
    }
    for name, data in cases.items():
        with open(name, "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main()
