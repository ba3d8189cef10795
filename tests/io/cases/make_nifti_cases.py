#!/usr/bin/python3
"""Writes the damaged and hostile NIfTI files nifti_* next to this script.

Run with Debian's /usr/bin/python3 (numpy) from any directory. The headers are packed here field
by field (NIfTI-1: 348 bytes, NIfTI-2: 540 bytes), so that every field can be set to a value no
NIfTI library would write. Each file is at most a few KB; tests/io/nifti.test.cpp says what the
reader must answer for each.
"""

import gzip
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def nifti1_header(dims, datatype=16, bitpix=32, vox_offset=352.0, magic=b"n+1\0", sizeof_hdr=348,
                  endian="<"):
    """A NIfTI-1 header: 1-mm voxels, sform = identity (code 2), scl_slope 1."""
    h = bytearray(348)
    dim = list(dims) + [1] * (8 - len(dims))
    struct.pack_into(endian + "i", h, 0, sizeof_hdr)
    struct.pack_into(endian + "8h", h, 40, *dim)
    struct.pack_into(endian + "hh", h, 70, datatype, bitpix)
    struct.pack_into(endian + "8f", h, 76, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    struct.pack_into(endian + "f", h, 108, vox_offset)
    struct.pack_into(endian + "ff", h, 112, 1.0, 0.0)  # scl_slope, scl_inter
    h[123] = 2 | 8  # xyzt_units: mm, s
    h[148:148 + 11] = b"dnn2brain.t"
    struct.pack_into(endian + "hh", h, 252, 0, 2)  # qform_code, sform_code
    struct.pack_into(endian + "4f", h, 280, 1.0, 0.0, 0.0, 0.0)
    struct.pack_into(endian + "4f", h, 296, 0.0, 1.0, 0.0, 0.0)
    struct.pack_into(endian + "4f", h, 312, 0.0, 0.0, 1.0, 0.0)
    h[344:348] = magic
    return bytes(h)


def nifti2_header(dims, datatype=64, bitpix=64, vox_offset=544, magic=b"n+2\0\r\n\x1a\n"):
    h = bytearray(540)
    dim = list(dims) + [1] * (8 - len(dims))
    struct.pack_into("<i", h, 0, 540)
    h[4:12] = magic
    struct.pack_into("<hh", h, 12, datatype, bitpix)
    struct.pack_into("<8q", h, 16, *dim)
    struct.pack_into("<8d", h, 104, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    struct.pack_into("<q", h, 168, vox_offset)
    struct.pack_into("<dd", h, 176, 1.0, 0.0)
    struct.pack_into("<ii", h, 344, 0, 2)
    struct.pack_into("<4d", h, 400, 1.0, 0.0, 0.0, 0.0)
    struct.pack_into("<4d", h, 432, 0.0, 1.0, 0.0, 0.0)
    struct.pack_into("<4d", h, 464, 0.0, 0.0, 1.0, 0.0)
    struct.pack_into("<i", h, 500, 2 | 8)
    return bytes(h)


NO_EXTENSIONS = b"\0\0\0\0"


def ramp(count, dtype="<f4"):
    return (np.arange(count, dtype=np.float64) * 0.5 - 3.0).astype(dtype).tobytes()


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    assert len(data) <= 8192, name


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def main():
    valid = nifti1_header((3, 4, 3, 2)) + NO_EXTENSIONS + ramp(24)

    # Sizes: a 352-byte file whose header declares 8192 x 8192 x 4096 float32 = 2^40 bytes.
    huge = nifti1_header((3, 8192, 8192, 4096)) + NO_EXTENSIONS
    write("nifti_huge_claim.nii", huge)
    write("nifti_huge_claim.nii.gz", gz(huge + bytes(64)))
    # A NIfTI-2 header whose dims multiply past 2^64.
    write("nifti_dims_overflow.nii",
          nifti2_header((4, 1 << 20, 1 << 20, 1 << 20, 1 << 20)) + NO_EXTENSIONS)
    # 64^3 float32 = 1 MiB declared; a valid 1.5 KB gzip member holds only 1 KB of data (within
    # deflate's 1032:1, so only reading the stream finds it).
    short = nifti1_header((3, 64, 64, 64)) + NO_EXTENSIONS + np.random.default_rng(3).bytes(1024)
    write("nifti_short_stream.nii.gz", gz(short))
    write("nifti_truncated.nii", valid[:352 + 50])
    write("nifti_truncated.nii.gz", gz(valid)[:60])
    write("nifti_truncated_header.nii", valid[:200])
    # A complete gzip stream whose ISIZE trailer lies (claims 2^32 - 1 bytes).
    z = bytearray(gz(valid))
    z[-4:] = struct.pack("<I", 0xFFFFFFFF)
    write("nifti_lying_isize.nii.gz", bytes(z))

    # vox_offset: below the header, past the end, not an integer, beyond nifti_clib's int.
    write("nifti_vox_offset_low.nii", nifti1_header((3, 4, 3, 2), vox_offset=100.0)
          + NO_EXTENSIONS + ramp(24))
    write("nifti_vox_offset_past_end.nii", nifti1_header((3, 4, 3, 2), vox_offset=1e6)
          + NO_EXTENSIONS + ramp(24))
    write("nifti_vox_offset_nan.nii", nifti1_header((3, 4, 3, 2), vox_offset=float("nan"))
          + NO_EXTENSIONS + ramp(24))
    write("nifti_vox_offset_huge.nii", nifti1_header((3, 4, 3, 2), vox_offset=3e9)
          + NO_EXTENSIONS + ramp(24))

    # dims and types.
    write("nifti_dim0_9.nii", nifti1_header((9, 4, 3, 2, 1, 1, 1, 1)) + NO_EXTENSIONS + ramp(24))
    write("nifti_negative_dim.nii", nifti1_header((3, 4, -3, 2)) + NO_EXTENSIONS + ramp(24))
    write("nifti_zero_dim.nii", nifti1_header((3, 4, 3, 0)) + NO_EXTENSIONS + ramp(24))
    write("nifti_bitpix_mismatch.nii", nifti1_header((3, 4, 3, 2), bitpix=8) + NO_EXTENSIONS
          + ramp(24))
    write("nifti_unknown_datatype.nii", nifti1_header((3, 4, 3, 2), datatype=3, bitpix=8)
          + NO_EXTENSIONS + ramp(24))

    # Header identity: sizeof_hdr, magic, NIfTI-1 size with NIfTI-2 magic, Analyze 7.5.
    write("nifti_sizeof_hdr.nii", nifti1_header((3, 4, 3, 2), sizeof_hdr=349) + NO_EXTENSIONS
          + ramp(24))
    write("nifti_magic_mismatch.nii", nifti1_header((3, 4, 3, 2), magic=b"n+2\0") + NO_EXTENSIONS
          + ramp(24))
    write("nifti_analyze.nii", nifti1_header((3, 4, 3, 2), magic=b"\0\0\0\0") + NO_EXTENSIONS
          + ramp(24))
    write("nifti2_bad_eol.nii", nifti2_header((3, 4, 3, 2), magic=b"n+2\0\r\r\r\r")
          + NO_EXTENSIONS + ramp(24, "<f8"))

    # Extensions: esize 2^31 - 16 (nifti_clib would malloc it), esize 8, esize past vox_offset.
    def with_extension(esize, vox_offset=384.0):
        ext = struct.pack("<ii", esize, 6) + b"comment\0" + bytes(16)
        return (nifti1_header((3, 4, 3, 2), vox_offset=vox_offset) + b"\1\0\0\0" + ext
                + ramp(24))
    write("nifti_huge_esize.nii", with_extension(0x7FFFFFF0))
    write("nifti_small_esize.nii", with_extension(8))
    write("nifti_esize_past_offset.nii", with_extension(48))
    # A valid one-extension file (esize 32 ends exactly at vox_offset 384).
    write("nifti_extension_ok.nii", with_extension(32))

    # Valid files the reader handles itself: big-endian bytes, a .hdr/.img pair, NIfTI-2 with the
    # zeroed EOL bytes nifti_clib 3.0 writes.
    write("nifti_big_endian.nii", nifti1_header((3, 4, 3, 2), endian=">") + NO_EXTENSIONS
          + ramp(24, ">f4"))
    write("nifti_pair.hdr", nifti1_header((3, 4, 3, 2), vox_offset=0.0, magic=b"ni1\0"))
    write("nifti_pair.img", ramp(24))
    write("nifti2_zero_eol.nii.gz", gz(nifti2_header((3, 4, 3, 2), magic=b"n+2\0\0\0\0\0")
                                        + NO_EXTENSIONS + ramp(24, "<f8")))


if __name__ == "__main__":
    main()
