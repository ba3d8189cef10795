#!/usr/bin/python3
"""Writes the damaged and hostile MATLAB .mat reproducers of tests/io/mat.test.cpp.

Run from this directory with Debian's /usr/bin/python3 (numpy, scipy, h5py):
    /usr/bin/python3 make_mat_cases.py
v5 elements that no writer would produce are built by hand from the MAT-file v5 layout (128-byte
header, 8-byte tags, small data elements, 8-byte padding); the rest is written by scipy or h5py
and then cut or patched.
"""
import io
import struct

import h5py
import numpy as np
import scipy.io

MI_INT8, MI_UINT16, MI_INT32, MI_UINT32, MI_DOUBLE, MI_MATRIX = 1, 4, 5, 6, 9, 14
MX_CELL, MX_STRUCT, MX_CHAR, MX_DOUBLE = 1, 2, 4, 6


def header(text=b"MATLAB 5.0 MAT-file, written by make_mat_cases.py"):
    return text.ljust(116, b" ") + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"


def element(mi_type, data, declared=None):
    """A data element: tag, data, zero padding to 8 bytes; `declared` overrides the count."""
    count = len(data) if declared is None else declared
    if len(data) <= 4 and declared is None and mi_type != MI_MATRIX:
        return struct.pack("<HH", mi_type, len(data)) + data.ljust(4, b"\0")
    return struct.pack("<II", mi_type, count) + data + b"\0" * (-len(data) % 8)


def matrix(mx_class, dims, name, *parts, dims_format="i"):
    body = element(MI_UINT32, struct.pack("<II", mx_class, 0))
    body += element(MI_INT32, struct.pack("<%d%s" % (len(dims), dims_format), *dims))
    body += element(MI_INT8, name)
    return element(MI_MATRIX, body + b"".join(parts))


def write(path, data):
    with open(path, "wb") as out:
        out.write(data)


def saved(compress, **variables):
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, do_compression=compress, oned_as="row")
    return buffer.getvalue()


# A valid matrix, A(i+1, j+1) = i + j / 100 (so sum = 20*15*... checked in the test), saved by
# scipy plain and compressed, and the same files cut to 10, 50 and 90 % of their bytes.
rows, cols = 20, 15
a = np.add.outer(np.arange(rows, dtype=float), np.arange(cols) / 100.0)
for compress, tag in ((False, "v5"), (True, "v5z")):
    data = saved(compress, A=a)
    write("mat_%s_matrix.mat" % tag, data)
    for percent in (10, 50, 90):
        write("mat_%s_matrix_cut%d.mat" % (tag, percent), data[: len(data) * percent // 100])

# A struct of 4294967294 x 2 elements with two fields and no values (208 bytes): matio leaves its
# data pointer NULL.
names = b"a".ljust(8, b"\0") + b"b".ljust(8, b"\0")
write("mat_struct_huge_dims.mat",
      header() + matrix(MX_STRUCT, (4294967294, 2), b"s", element(MI_INT32, struct.pack("<i", 8)),
                        element(MI_INT8, names), dims_format="I"))

# A char row vector of 850 million characters (1.7 GB as UTF-16) with 3 characters of data.
write("mat_string_oversized.mat",
      header() + matrix(MX_CHAR, (1, 850_000_000), b"name",
                        element(MI_UINT16, struct.pack("<3H", *b"abc"), declared=1_700_000_000)))
# ... and one whose tag is honest: 850 million characters declared, 6 bytes stored.
write("mat_string_short.mat",
      header() + matrix(MX_CHAR, (1, 850_000_000), b"name",
                        element(MI_UINT16, struct.pack("<3H", *b"abc"))))

# Dimensions whose product overflows 64 bits, and a 1000 x 1000 double with one value stored.
write("mat_dims_overflow.mat",
      header() + matrix(MX_DOUBLE, (2147483647, 2147483647, 2147483647), b"x",
                        element(MI_DOUBLE, struct.pack("<d", 1.0))))
write("mat_dims_exceed_data.mat",
      header() + matrix(MX_DOUBLE, (1000, 1000), b"x", element(MI_DOUBLE, struct.pack("<d", 1.0))))

# An empty file.
write("mat_empty.mat", b"")

# UTF-16 char data: a surrogate pair (U+1F600) and an unpaired high surrogate.
write("mat_utf16_surrogates.mat",
      header()
      + matrix(MX_CHAR, (1, 2), b"paired", element(MI_UINT16, struct.pack("<2H", 0xD83D, 0xDE00)))
      + matrix(MX_CHAR, (1, 3), b"unpaired",
               element(MI_UINT16, struct.pack("<3H", ord("a"), 0xD800, ord("b")))))

# Cells nested 40 deep.
nested = matrix(MX_DOUBLE, (1, 1), b"", element(MI_DOUBLE, struct.pack("<d", 7.0)))
for depth in range(40):
    nested = matrix(MX_CELL, (1, 1), b"deep" if depth == 39 else b"", nested)
write("mat_deep_cells.mat", header() + nested)


# v7.3: HDF5 with a 512-byte user block that starts with the MATLAB header.
def v73(path, build):
    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        build(f)
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, written by make_mat_cases.py".ljust(116, b" ")
                + b"\0" * 8 + struct.pack("<H", 0x0200) + b"IM")


def matlab_class(dataset, name):
    """The MATLAB_class attribute as MATLAB writes it (NULLTERM string; matio ignores NULLPAD)."""
    string = h5py.h5t.C_S1.copy()
    string.set_size(len(name))
    string.set_strpad(h5py.h5t.STR_NULLTERM)
    attribute = h5py.h5a.create(dataset.id, b"MATLAB_class", string, h5py.h5s.create(h5py.h5s.SCALAR))
    attribute.write(np.array(name.encode(), dtype="S%d" % len(name)), mtype=string)


def compact(f):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple((1, 2))
    h5py.h5d.create(f.id, b"x", h5py.h5t.IEEE_F64LE, space, dcpl=dcpl)
    f["x"][...] = np.array([[1.25, -2.5]])
    matlab_class(f["x"], "double")


v73("mat_v73_compact.mat", compact)
# The same file with the compact layout message declaring 0 stored bytes: HDF5 1.10 memcpys
# from NULL in H5Dread.
with open("mat_v73_compact.mat", "rb") as f:
    data = bytearray(f.read())
layout = struct.pack("<BBH", 3, 0, 16) + struct.pack("<2d", 1.25, -2.5)
assert data.count(layout) == 1, "compact layout message not found"
at = data.index(layout)
data[at + 2:at + 4] = struct.pack("<H", 0)
write("mat_v73_compact_empty.mat", bytes(data))


def contiguous(f):
    f.create_dataset("y", data=np.arange(64, dtype=float).reshape(8, 8))
    matlab_class(f["y"], "double")


v73("mat_v73_contiguous.mat", contiguous)
with open("mat_v73_contiguous.mat", "rb") as f:
    data = f.read()
write("mat_v73_contiguous_cut60.mat", data[: len(data) * 60 // 100])


# The local heap of the root group (an old-style group: symbol table, B-tree, local heap) with a
# hostile data segment. HDF5 1.10 trusts it inside H5Literate, which the checks themselves call:
# an undefined address makes it memcpy from NULL (SIGSEGV); a 2^44-byte segment elsewhere makes it
# malloc 2^44 bytes (NULL without a sanitizer, an abort under ASan). libFuzzer found both first
# (build/fuzz/findings/mat_v73); mat_v73_hdf5_crash_fuzzer.mat is its input as found, not
# written by this script. The heap header: "HEAP", version, 3 reserved bytes, data segment size,
# offset of the free list, data segment address (8-byte lengths and addresses).
with open("mat_v73_compact.mat", "rb") as f:
    data = f.read()
assert data.count(b"HEAP") == 1, "local heap not found"
heap = data.index(b"HEAP")


def patched_heap(path, **fields):
    out = bytearray(data)
    for field, value in fields.items():
        at = heap + {"size": 8, "address": 24}[field]
        out[at:at + 8] = struct.pack("<Q", value)
    write(path, bytes(out))


patched_heap("mat_v73_hdf5_crash_heap_address.mat", address=0xFFFFFFFFFFFFFFFF)
patched_heap("mat_v73_hdf5_crash_heap_size.mat", size=1 << 44, address=0x100)
