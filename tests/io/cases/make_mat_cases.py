#!/usr/bin/python3
"""Writes the damaged and hostile MATLAB .mat reproducers of tests/io/mat.test.cpp.

Run from this directory with Debian's /usr/bin/python3 (numpy, scipy, h5py):
    /usr/bin/python3 make_mat_cases.py
v5 elements that no writer would produce are built by hand from the MAT-file v5 layout (128-byte
header, 8-byte tags, small data elements, 8-byte padding); the rest is written by scipy or h5py
and then cut or patched.
"""
import io
import random
import struct
import zlib

import h5py
import numpy as np
import scipy.io

MI_INT8, MI_UINT8, MI_UINT16, MI_INT32, MI_UINT32, MI_DOUBLE = 1, 2, 4, 5, 6, 9
MI_MATRIX, MI_COMPRESSED, MI_UTF8 = 14, 15, 16
MX_CELL, MX_STRUCT, MX_CHAR, MX_SPARSE, MX_DOUBLE, MX_INT8, MX_UINT8 = 1, 2, 4, 5, 6, 8, 9
MX_UINT32, MX_FUNCTION, MX_OPAQUE = 13, 16, 17


def header(text=b"MATLAB 5.0 MAT-file, written by make_mat_cases.py"):
    return text.ljust(116, b" ") + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"


def element(mi_type, data, declared=None):
    """A data element: tag, data, zero padding to 8 bytes; `declared` overrides the count."""
    count = len(data) if declared is None else declared
    if len(data) <= 4 and declared is None and mi_type != MI_MATRIX:
        return struct.pack("<HH", mi_type, len(data)) + data.ljust(4, b"\0")
    return struct.pack("<II", mi_type, count) + data + b"\0" * (-len(data) % 8)


def matrix(mx_class, dims, name, *parts, dims_format="i", flags=0, nzmax=0):
    body = element(MI_UINT32, struct.pack("<II", mx_class | flags, nzmax))
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


# --- struct fields, field-name lengths and names that matio reads differently ---------------------
# matio 1.5.23 (src/mat5.c, ReadNextStructField) reads a struct field's name tag as exactly 8 bytes
# and takes the next bytes as the data tag, and reads the field-name length as 8 bytes whose second
# word is the length (MATLAB's small data element). Reproducers of the review of 2024-12 (mk.py).
def field_names(*names, width=8):
    return (struct.pack("<HHI", MI_INT32, 4, width)  # small data element, as MATLAB writes it
            + element(MI_INT8, b"".join(n.ljust(width, b"\0") for n in names)))


def struct_var(name, names_part, *fields):
    return matrix(MX_STRUCT, (1, 1), name, names_part, *fields)


# Field a = 42.0 whose element carries an 8-byte name: matio returned 1.98e-313.
write("mat_struct_named_field.mat",
      header() + struct_var(b"s", field_names(b"a"),
                            matrix(MX_DOUBLE, (1, 1), b"\x09\x01\x01\x01ZZZZ",
                                   element(MI_DOUBLE, struct.pack("<d", 42.0)))))
# An int8 1x4000 field whose name bytes look like a miDOUBLE tag: matio read uninitialised memory.
write("mat_struct_field_name_overread.mat",
      header() + struct_var(b"s", field_names(b"a"),
                            matrix(MX_INT8, (1, 4000), b"\x09\x01\x01\x01\x01\x01\x01\x01",
                                   element(MI_INT8, b"\x01" * 4000))))
# The field-name length as a long-form tag: matio takes its byte count (4) as the length.
write("mat_struct_long_field_name_length.mat",
      header() + struct_var(b"s", element(MI_INT32, struct.pack("<i", 8), declared=4)
                            + element(MI_INT8, b"a".ljust(8, b"\0")),
                            matrix(MX_DOUBLE, (1, 1), b"", element(MI_DOUBLE, struct.pack("<d", 42.0)))))
# A struct with no fields (MATLAB's struct() with every field removed): valid, and field() says so.
write("mat_struct_no_fields.mat", header() + struct_var(b"s", field_names()))
# A variable name in a long-form miUTF8 tag: matio skips a long-form name only when it is miINT8.
write("mat_name_utf8_tag.mat",
      header() + element(MI_MATRIX, element(MI_UINT32, struct.pack("<II", MX_DOUBLE, 0))
                         + element(MI_INT32, struct.pack("<2i", 1, 1))
                         + struct.pack("<II", MI_UTF8, 5) + b"hello\0\0\0"
                         + element(MI_DOUBLE, struct.pack("<d", 1.0))))


# --- opaque values, function handles and MATLAB's subsystem data ----------------------------------
# No MATLAB here: built from the layout scipy documents (scipy/io/matlab/_mio5.py, "Note on
# functions and mat files"; _mio5_utils.pyx, VarReader5.read_header and read_opaque):
# - an mxOPAQUE_CLASS (17) array has array flags but no dimensions, then three miINT8 strings
#   (the name, the type system "MCOS", the class name) and the object data as a miMATRIX (for
#   MATLAB's classdef objects a uint32 column of object ids);
# - an mxFUNCTION_CLASS (16) array has the usual flags, dimensions and name, then one miMATRIX: a
#   struct describing the function (an anonymous function's workspace is an opaque value);
# - a file holding either ends with an unnamed miMATRIX (scipy's __function_workspace__), a
#   uint8 row of a mini MAT file (version, endian indicator, 4 zero bytes, miMATRIX elements);
#   the header's subsystem data offset (bytes 116-123) gives its position.
def text(value):
    return element(MI_INT8, value)


def char(name, value):
    return matrix(MX_CHAR, (1, len(value)), name, element(MI_UINT16, value.encode("utf-16-le")))


def opaque(name, class_name, object_ids=(0xDD000000, 2, 1, 1, 1, 1)):
    ids = matrix(MX_UINT32, (len(object_ids), 1), b"",
                 element(MI_UINT32, struct.pack("<%dI" % len(object_ids), *object_ids)))
    body = element(MI_UINT32, struct.pack("<II", MX_OPAQUE, 0))
    return element(MI_MATRIX, body + text(name) + text(b"MCOS") + text(class_name) + ids)


def subsystem():
    inner = matrix(MX_STRUCT, (1, 1), b"", field_names(b"MCOS"),
                   opaque(b"", b"FileWrapper__", (0xDD000000, 2, 1, 1, 0, 0)))
    data = struct.pack("<H", 0x0100) + b"IM" + b"\0" * 4 + inner
    return matrix(MX_UINT8, (1, len(data)), b"", element(MI_UINT8, data))


def with_subsystem(*variables):
    body = b"".join(variables)
    out = bytearray(header() + body + subsystem())
    out[116:124] = struct.pack("<Q", 128 + len(body))
    return bytes(out)


def compressed(data):
    """Every top-level element of a v5 file as a miCOMPRESSED element, as MATLAB's -v7 writes."""
    out, at = bytearray(data[:128]), 128
    while at < len(data):
        size = struct.unpack_from("<I", data, at + 4)[0]
        packed = zlib.compress(data[at:at + 8 + size])
        if at == struct.unpack_from("<Q", data, 116)[0]:
            out[116:124] = struct.pack("<Q", len(out))
        out += struct.pack("<II", MI_COMPRESSED, len(packed)) + packed
        at += 8 + size
    return bytes(out)


x_value = matrix(MX_DOUBLE, (1, 3), b"x", element(MI_DOUBLE, struct.pack("<3d", 1.5, 2.5, 3.0)))
# s = "hello" (a string object), a plain double x, and the subsystem data.
string_file = with_subsystem(opaque(b"s", b"string"), x_value)
write("mat_string_object.mat", string_file)
write("mat_string_object_z.mat", compressed(string_file))

# f = @(t) t + k (an anonymous function handle whose workspace is an opaque value), then x.
handle_info = matrix(MX_STRUCT, (1, 1), b"", field_names(b"function", b"type", b"workspace", width=16),
                     char(b"", "@(t)t+k"), char(b"", "anonymous"),
                     opaque(b"", b"FileWrapper__", (0xDD000000, 2, 1, 1, 2, 1)))
handle = matrix(MX_FUNCTION, (1, 1), b"f",
                matrix(MX_STRUCT, (1, 1), b"",
                       field_names(b"matlabroot", b"separator", b"sentinel", b"function_handle",
                                   width=16),
                       char(b"", "/usr/local/MATLAB"), char(b"", "/"), char(b"", "@"), handle_info))
handle_file = with_subsystem(handle, x_value)
write("mat_function_handle.mat", handle_file)
write("mat_function_handle_z.mat", compressed(handle_file))

# A function handle of 4 x 16580612 elements with one: matio allocated a pointer per element
# first (0.5 GB; found by fuzz_mat, /tmp/issue13/mat_v5_function_handle_oom.mat).
write("mat_function_handle_huge_dims.mat",
      header() + matrix(MX_FUNCTION, (4, 16580612), b"rdm",
                        matrix(MX_DOUBLE, (1, 1), b"", element(MI_DOUBLE, struct.pack("<d", 1.0)))))
# An opaque value whose name tag is miINT32: matio reads that tag as the dimensions.
write("mat_opaque_int32_name.mat",
      header() + element(MI_MATRIX, element(MI_UINT32, struct.pack("<II", MX_OPAQUE, 0))
                         + element(MI_INT32, struct.pack("<2i", 0x7FFFFFFF, 0x7FFFFFFF)) + text(b"MCOS")
                         + text(b"string")) + x_value)


# --- sparse arrays ---------------------------------------------------------------------------------
# A complex 3 x 2 sparse array with 2 values but 1 imaginary value: matio reads the imaginary part
# with the real part's count (uninitialised memory), and one with more row indices than nzmax.
def sparse(name, nzmax, rows, starts, real, imag=None):
    parts = [element(MI_INT32, struct.pack("<%di" % len(rows), *rows)),
             element(MI_INT32, struct.pack("<%di" % len(starts), *starts)),
             element(MI_DOUBLE, struct.pack("<%dd" % len(real), *real))]
    if imag is not None:
        parts.append(element(MI_DOUBLE, struct.pack("<%dd" % len(imag), *imag)))
    return matrix(MX_SPARSE, (3, 2), name, *parts, flags=0x800 if imag is not None else 0,
                  nzmax=nzmax)


write("mat_sparse_short_imaginary.mat",
      header() + sparse(b"a", 2, (0, 2), (0, 1, 2), (1.0, 2.0), (0.5,)) + x_value)
write("mat_sparse_rows_over_nzmax.mat",
      header() + sparse(b"a", 1, (0, 2), (0, 1, 2), (1.0, 2.0)) + x_value)
write("mat_sparse_valid.mat", header() + sparse(b"a", 2, (0, 2), (0, 1, 2), (1.0, 2.0)) + x_value)


# --- compressed elements ---------------------------------------------------------------------------
# A compressed element whose stream holds 64 KiB (random bytes: deflate cannot shrink them) but
# declares 60 MB, within deflate's 1032:1: the inflate buffer grows only with the stream.
inner = bytearray(matrix(MX_UINT8, (1, 65536), b"z", element(MI_UINT8, random.Random(13).randbytes(65536))))
inner[4:8] = struct.pack("<I", 60_000_000)
packed = zlib.compress(bytes(inner), 9)
write("mat_v5z_declares_more.mat",
      header() + struct.pack("<II", MI_COMPRESSED, len(packed)) + packed)
