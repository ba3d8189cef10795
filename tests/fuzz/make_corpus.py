#!/usr/bin/env python3
"""Seed corpora of the fuzz harnesses: small valid files written by numpy, scipy, h5py and nibabel
(independent of dnn2brain's writers), one directory per harness under corpus/.

Run from anywhere with Debian's python3 (apt: python3-numpy python3-scipy python3-h5py
python3-nibabel): /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import gzip
import io
import os
import shutil
import struct
import tempfile
import zlib

import h5py
import nibabel as nib
import numpy as np
import scipy.io

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
rng = np.random.default_rng(13)


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def npy_bytes(array, version=None):
    out = io.BytesIO()
    np.lib.format.write_array(out, array, version=version, allow_pickle=False)
    return out.getvalue()


def npy_seeds():
    yield "f4_2x3", rng.standard_normal((2, 3)).astype("<f4")
    yield "f8_be_4", rng.standard_normal(4).astype(">f8")
    yield "f8_fortran", np.asfortranarray(rng.standard_normal((3, 2)))
    yield "f8_scalar", np.array(1.5)
    yield "f8_empty", np.zeros((0, 3))
    yield "i2_3x2x2", rng.integers(-100, 100, (3, 2, 2)).astype("<i2")
    yield "u1_5", np.arange(5, dtype="u1")
    yield "i8_be", np.arange(3, dtype=">i8")
    yield "b1_4", np.array([True, False, True, True])
    yield "U5", np.array(["ab", "cde", "\u00e9t\u00e9"])
    yield "S3", np.array([b"ab", b"xyz"])


def make_npy():
    for name, array in npy_seeds():
        put("npy", name + ".npy", npy_bytes(array))
    put("npy", "f4_v2.npy", npy_bytes(np.ones((2, 2), "f4"), version=(2, 0)))
    put("npy", "U3_v3.npy", npy_bytes(np.array(["x\u00e9"]), version=(3, 0)))


def make_npz():
    # First byte 0: a whole archive; 1 and 2: an .npy image that the harness stores or deflates.
    arrays = dict(npy_seeds())
    for compressed in (False, True):
        out = io.BytesIO()
        (np.savez_compressed if compressed else np.savez)(
            out, rdm=arrays["f4_2x3"], names=arrays["U5"], mask=arrays["b1_4"])
        put("npz", "archive_%s.bin" % ("deflated" if compressed else "stored"),
            b"\x00" + out.getvalue())
    for name in ("f4_2x3", "i2_3x2x2", "U5", "f8_fortran"):
        data = npy_bytes(arrays[name])
        put("npz", "entry_stored_%s.bin" % name, b"\x01" + data)
        put("npz", "entry_deflated_%s.bin" % name, b"\x02" + data)


def nifti_bytes(image):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.nii")
        nib.save(image, path)
        with open(path, "rb") as f:
            return f.read()


def make_nifti():
    affine = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    images = {
        "mask_u1": nib.Nifti1Image((rng.random((4, 3, 2)) > 0.5).astype("u1"), affine),
        "vol_i2_scaled": nib.Nifti1Image(rng.integers(-50, 50, (3, 3, 2)).astype("i2"), affine),
        "vol_f4": nib.Nifti1Image(rng.standard_normal((3, 2, 2)).astype("f4"), affine),
        "series_f4": nib.Nifti1Image(rng.standard_normal((2, 2, 2, 5)).astype("f4"), affine),
        "nifti2_f8": nib.Nifti2Image(rng.standard_normal((2, 3, 2)), affine),
        "pair_f4": nib.Nifti1Image(rng.standard_normal((2, 2, 2, 1, 3)).astype("f4"), affine),
    }
    images["vol_i2_scaled"].header.set_slope_inter(0.5, 10.0)
    ext = nib.nifti1.Nifti1Extension("comment", b"dnn2brain seed")
    images["vol_f4"].header.extensions.append(ext)
    for name, image in images.items():
        raw = nifti_bytes(image)
        put("nifti", name + ".nii", raw)
        # First byte 0: a .nii.gz file as on disk; otherwise raw .nii bytes the harness gzips.
        put("nifti_gz", name + "_file.bin", b"\x00" + gzip.compress(raw, mtime=0))
        put("nifti_gz", name + "_raw.bin", b"\x01" + raw)


def mat_bytes(variables, **options):
    out = io.BytesIO()
    scipy.io.savemat(out, variables, **options)
    return out.getvalue()


def make_mat_v5():
    variables = {
        "rdm": rng.standard_normal((4, 4)),
        "single": rng.standard_normal((2, 3)).astype("f4"),
        "counts": np.arange(6, dtype="i1").reshape(2, 3),
        "flags": np.array([[True, False, True]]),
        "name": "V1 left",
        "empty": np.zeros((0, 0)),
    }
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0] = rng.standard_normal((2, 2))
    cell[0, 1] = "IT"
    structs = np.zeros((1, 2), dtype=[("RDM", object), ("name", object)])
    for k in range(2):
        structs[0, k]["RDM"] = rng.standard_normal((3, 3))
        structs[0, k]["name"] = "subject %d" % (k + 1)
    for compress in (False, True):
        suffix = "_z" if compress else ""
        put("mat_v5", "numeric%s.mat" % suffix, mat_bytes(variables, do_compression=compress))
        put("mat_v5", "cell%s.mat" % suffix, mat_bytes({"c": cell}, do_compression=compress))
        put("mat_v5", "struct%s.mat" % suffix,
            mat_bytes({"RDMs": structs}, do_compression=compress))
    put("mat_v5", "v4.mat", mat_bytes({"rdm": rng.standard_normal((3, 3))}, format="4"))


def matlab_class(obj, name, int_decode=None):
    """MATLAB_class as MATLAB writes it: a NULLTERM string (matio ignores h5py's NULLPAD)."""
    string = h5py.h5t.C_S1.copy()
    string.set_size(len(name))
    string.set_strpad(h5py.h5t.STR_NULLTERM)
    attribute = h5py.h5a.create(obj.id, b"MATLAB_class", string, h5py.h5s.create(h5py.h5s.SCALAR))
    attribute.write(np.array(name.encode(), dtype="S%d" % len(name)), mtype=string)
    if int_decode is not None:
        obj.attrs["MATLAB_int_decode"] = np.int32(int_decode)


def make_mat_v73():
    # MATLAB 7.3 files are HDF5 with a 512-byte user block holding the MATLAB text header.
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Dec  3 12:00:00 2026 HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM"
    with tempfile.TemporaryDirectory() as tmp:
        def write(name, fill):
            path = os.path.join(tmp, name)
            with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
                fill(f)
            with open(path, "r+b") as f:
                f.write(header.ljust(512, b"\x00"))
            with open(path, "rb") as f:
                put("mat_v73", name, f.read())

        def numeric(f):
            d = f.create_dataset("rdm", data=rng.standard_normal((4, 4)))
            matlab_class(d, "double")
            s = f.create_dataset("single", data=rng.standard_normal((3, 2)).astype("f4"))
            matlab_class(s, "single")

        def text(f):
            d = f.create_dataset("name", data=np.frombuffer("V1".encode("utf-16-le"), "u2")[:, None])
            matlab_class(d, "char", int_decode=2)

        def structure(f):
            g = f.create_group("s")
            matlab_class(g, "struct")
            d = g.create_dataset("RDM", data=rng.standard_normal((3, 3)))
            matlab_class(d, "double")

        def chunked(f):
            d = f.create_dataset("rdm", data=rng.standard_normal((8, 8)), chunks=(4, 4),
                                 compression="gzip")
            matlab_class(d, "double")

        write("numeric.mat", numeric)
        write("char.mat", text)
        write("struct.mat", structure)
        write("chunked.mat", chunked)


def make_neighbor_tables():
    # The format of save_neighbor_table (include/dnn2brain/io/neighbor_table.hpp); the harness
    # recomputes the trailing CRC of each input, the seeds carry a correct one too.
    def table(kind, shape, centers, members, mask_voxels, radius=0, stride=0):
        affine = np.diag([2.0, 2.0, 2.0, 1.0]).ravel()
        offsets = np.cumsum([0] + [len(m) for m in members]).astype("<i8")
        columns = np.array([c for m in members for c in m], dtype="<i4")
        body = b"D2BNTAB\x00" + struct.pack("<IIii3Q16d3Q", 1, kind, radius, stride, *shape,
                                             *affine, mask_voxels, len(centers), len(columns))
        body += np.asarray(centers, dtype="<i4").reshape(-1, 3).tobytes()
        body += offsets.tobytes() + columns.tobytes()
        return body + struct.pack("<I", zlib.crc32(body))

    put("neighbor_table", "spheres.d2bnt",
        table(0, (3, 3, 2), [(0, 0, 0), (1, 1, 0), (2, 2, 1)], [[0, 1], [0, 1, 2, 3], [3]], 4))
    put("neighbor_table", "blocks.d2bnt",
        table(1, (4, 4, 4), [(0, 0, 0), (2, 0, 0)], [[0, 1, 2], [2, 3]], 4, radius=1, stride=2))
    put("neighbor_table", "empty.d2bnt", table(0, (2, 2, 2), [], [], 0))


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    make_npy()
    make_npz()
    make_nifti()
    make_mat_v5()
    make_mat_v73()
    make_neighbor_tables()
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        size = sum(os.path.getsize(os.path.join(CORPUS, target, f)) for f in files)
        print("%-15s %3d files %7d bytes" % (target, len(files), size))
