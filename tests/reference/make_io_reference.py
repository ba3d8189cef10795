#!/usr/bin/python3
"""Reference numbers for the dnn2brain I/O tests (tests/io/*.test.cpp), computed with numpy
(and nibabel, scipy and h5py for the NIfTI and .mat sections).

Run with Debian's python3 (python3-numpy, python3-nibabel, python3-scipy, python3-h5py):
    /usr/bin/python3 tests/reference/make_io_reference.py [path/to/shared/data]
It rewrites tests/reference/io_values.txt in the format of reference_values.txt.

The file is built from sections: one function per reader, each adding arrays whose names start
with its own prefix. To add one (NIfTI, .mat, ...), write `def section_<name>(put, data_dir)` and
list it in SECTIONS. Conventions shared by the sections:
  - put(name, array) stores any array as 2-D float64 (shapes go in separate "<name>_shape" rows);
  - put_strings(name, texts) stores strings as a code-point matrix, one row per string, padded
    with 0 (byte strings: one byte per column);
  - large arrays are compared through exact samples (every k-th element in C order, the stride in
    "<name>_stride") and through their sum, with the sum of |x| for the C++ error bound;
  - put_bytes(name, data) stores a small file byte by byte: the C++ test writes it to a scratch
    directory and reads it back, so the readers meet numpy's own writer.
"""
import io
import math
import os
import sys
import zipfile

import numpy as np

from reference_file import as_reference, write_reference

here = os.path.dirname(os.path.abspath(__file__))


def make_put(out):
    def put(name, a):
        assert name not in out, f"reference array {name} written twice"
        out[name] = as_reference(a)
    return put


def put_strings(put, name, texts):
    texts = list(texts)
    width = max([1] + [len(t) for t in texts])
    codes = np.zeros((len(texts), width))
    for i, t in enumerate(texts):
        codes[i, :len(t)] = list(t) if isinstance(t, bytes) else [ord(c) for c in t]
    put(name, codes)


def put_bytes(put, name, data):
    put(name, np.frombuffer(data, dtype=np.uint8))


def put_summary(put, name, a, stride):
    """Shape, exact samples, sum and sum of |x| of a numeric array (C order)."""
    flat = np.asarray(a, dtype=np.float64).ravel(order="C")
    put(f"{name}_shape", a.shape)
    put(f"{name}_stride", stride)
    put(f"{name}_sample", flat[::stride])
    put(f"{name}_sum", math.fsum(flat))
    put(f"{name}_abs_sum", math.fsum(np.abs(flat)))


def npz_names(path):
    return [n[:-4] if n.endswith(".npy") else n for n in zipfile.ZipFile(path).namelist()]


# --- sections -------------------------------------------------------------------------------------

def section_npy(put, data_dir):
    """Real .npy files: n2b78 ResNet-18 features (float32), rsa118 RDM (float64) and labels (<U9)."""
    features = np.load(os.path.join(data_dir, "n2b78", "case3_ResNet18_layer4_features_78x25088_f32.npy"))
    assert features.dtype == np.float32 and features.shape == (78, 25088)
    put_summary(put, "npy_features", features, 4999)
    rdm = np.load(os.path.join(data_dir, "rsa118", "118_animate_RDM.npy"))
    assert rdm.dtype == np.float64 and rdm.shape == (118, 118)
    put_summary(put, "npy_rsa118_rdm", rdm, 37)
    labels = np.load(os.path.join(data_dir, "rsa118", "118_animate_labels.npy"))
    assert labels.dtype == np.dtype("<U9") and labels.shape == (118,)
    put_strings(put, "npy_rsa118_labels", labels)


def section_npz(put, data_dir):
    """Real .npz files (numpy.savez, stored entries): n2b78 DNN and fMRI RDMs, Net2Brain results."""
    folder = os.path.join(data_dir, "n2b78")
    for tag, file, stride in (("case1", "case1_ResNet18_rdm_layer4.1.bn2.npz", 13),
                              ("case2", "case2_RN50_rdm_visual.layer4.npz", 13),
                              ("fmri_it", "fmri_IT_RDMs.npz", 331),
                              ("fmri_evc", "fmri_EVC_RDMs.npz", 331)):
        path = os.path.join(folder, file)
        assert npz_names(path) == ["arr_0"]
        a = np.load(path)["arr_0"]
        put_summary(put, f"npz_{tag}", a, stride)
        put(f"npz_{tag}_fortran", int(a.flags.f_contiguous and not a.flags.c_contiguous))

    path = os.path.join(folder, "case3_ResNet18_rdm_pearson_layer4.npz")
    put_strings(put, "npz_case3_names", npz_names(path))
    npz = np.load(path)
    assert npz["rdm"].dtype == np.float32
    put_summary(put, "npz_case3_rdm", npz["rdm"], 7)
    put_strings(put, "npz_case3_stimuli_name", npz["stimuli_name"])
    assert npz["layer_name"].shape == ()
    put_strings(put, "npz_case3_layer_name", [str(npz["layer_name"])])
    with zipfile.ZipFile(path) as z, z.open("meta.npy") as f:
        version = np.lib.format.read_magic(f)
        assert np.lib.format._read_array_header(f, version)[2] == np.dtype(object)


def section_numpy_files(put, data_dir):
    """Small files written by numpy itself, for what dnn2brain's writer never produces."""
    def saved(write):
        buffer = io.BytesIO()
        write(buffer)
        return buffer.getvalue()

    # Deflated .npz (numpy.savez_compressed): float64, big-endian Fortran-ordered int32, unicode.
    a = np.arange(12, dtype="<f8").reshape(3, 4) * 0.25 - 1.0
    b = np.asfortranarray(np.arange(-6, 18, dtype=">i4").reshape(2, 3, 4))
    labels = np.array(["\u03b1", "b\u20ac", "\U0001F600x"])
    put_bytes(put, "file_compressed_npz", saved(lambda f: np.savez_compressed(f, a=a, b=b, labels=labels)))
    put("file_compressed_npz_a", a)
    put("file_compressed_npz_b", b.ravel(order="C"))
    put_strings(put, "file_compressed_npz_labels", labels)

    # Big-endian float64 in Fortran order.
    c = np.asfortranarray((np.arange(24).reshape(2, 3, 4) * 1.5 - 7.0).astype(">f8"))
    put_bytes(put, "file_be_fortran_npy", saved(lambda f: np.save(f, c)))
    put("file_be_fortran_npy_values", c.ravel(order="C"))

    # Format versions 2.0 and 3.0.
    d = np.arange(10, dtype="<u2") * 7
    put_bytes(put, "file_v2_npy", saved(lambda f: np.lib.format.write_array(f, d, version=(2, 0))))
    put("file_v2_npy_values", d)
    e = np.array([[True, False, True], [False, False, True]])
    put_bytes(put, "file_v3_npy", saved(lambda f: np.lib.format.write_array(f, e, version=(3, 0))))
    put("file_v3_npy_values", e.ravel())

    # Byte strings (trailing NULs are padding; inner ones stay) and big-endian unicode in 2-D.
    s = np.array([b"ab", b"", b"xyz\x00w"], dtype="S5")
    put_bytes(put, "file_bytes_npy", saved(lambda f: np.save(f, s)))
    put_strings(put, "file_bytes_npy_values", list(s))
    u = np.array([["\u00e9", "\u20acuro"], ["\U0001F600", ""]], dtype=">U4")
    put_bytes(put, "file_unicode_be_npy", saved(lambda f: np.save(f, u)))
    put_strings(put, "file_unicode_be_npy_values", u.ravel())

    # Every numeric dtype at its extremes, one entry each (stored .npz); the C++ test knows the
    # values: integers [min, 0, 1, max], floats [-1.5, 0, pi, inf, nan], bool [True, False].
    arrays = {}
    for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        info = np.iinfo(t)
        arrays[np.dtype(t).name] = np.array([info.min, 0, 1, info.max], dtype=t)
    for t in (np.float32, np.float64):
        arrays[np.dtype(t).name] = np.array([-1.5, 0.0, np.pi, np.inf, np.nan], dtype=t)
    arrays["bool"] = np.array([True, False])
    put_bytes(put, "file_dtypes_npz", saved(lambda f: np.savez(f, **arrays)))
    put_strings(put, "file_dtypes_npz_names", list(arrays))


def section_nifti(put, data_dir):
    """NIfTI files read by nibabel (img.affine, get_fdata()) and an ROI RDM computed with scipy."""
    import nibabel as nib
    from scipy.spatial.distance import pdist

    def image(tag, relative, stride):
        img = nib.load(os.path.join(data_dir, relative))
        data = img.get_fdata()
        put_summary(put, f"nifti_{tag}", data, stride)
        put(f"nifti_{tag}_affine", img.affine)
        put(f"nifti_{tag}_zooms", img.header.get_zooms())
        put(f"nifti_{tag}_datatype", int(img.header["datatype"]))
        put(f"nifti_{tag}_nonzero", np.count_nonzero(data))
        return data

    haxby = os.path.join("haxby", "haxby2001_25mm", "sub001")
    bold = image("haxby_bold", os.path.join("haxby", "bold.nii.gz"), 997)
    mask = image("haxby_mask", os.path.join("haxby", "mask.nii.gz"), 7)
    image("mni_mask", os.path.join("mni", "MNI152_T1_2mm_brain_mask.nii.gz"), 1009)
    image("mni_a1plus", os.path.join("mni", "a1plus_2mm.nii.gz"), 1009)
    image("haxby25_bold", os.path.join(haxby, "BOLD", "task001_run001", "bold_25mm.nii.gz"), 101)
    image("haxby25_vt", os.path.join(haxby, "masks", "25mm", "vt.nii.gz"), 7)
    image("haxby25_hoc", os.path.join(haxby, "masks", "25mm", "hoc.nii.gz"), 7)
    image("haxby25_lowres", os.path.join(haxby, "anatomy", "lowres001.nii.gz"), 7)

    # Haxby ROI RDM: mean volume per category (labels 1..8; 0 is rest), voxels of mask > 0 in C
    # order, 1 - Pearson between the 8 category patterns.
    labels = np.loadtxt(os.path.join(data_dir, "haxby", "attributes.txt"), dtype=int)[:, 0]
    assert labels.shape == (bold.shape[3],)
    means = np.stack([bold[..., labels == c].mean(axis=3) for c in range(1, 9)])
    patterns = means[:, mask > 0]
    put("nifti_haxby_roi_patterns_shape", patterns.shape)
    put("nifti_haxby_roi_rdm", pdist(patterns, "correlation"))


def section_mat(put, data_dir):
    """MATLAB files read by scipy.io.loadmat (v5) and h5py (v7.3). Arrays are stored with MATLAB's
    dims, which scipy keeps; h5py's shapes are MATLAB's reversed."""
    import h5py
    import scipy.io

    folder = os.path.join(data_dir, "rsa92")
    files = sorted(f for f in os.listdir(folder) if f.endswith(".mat"))
    put_strings(put, "mat_rsa92_files", files)
    for k, f in enumerate(files):
        put_strings(put, f"mat_rsa92_file{k}_variables", [v[0] for v in scipy.io.whosmat(os.path.join(folder, f))])

    def classes(values):
        return [{"float64": "double", "float32": "single"}.get(v.dtype.name, v.dtype.name) for v in values]

    brain = scipy.io.loadmat(os.path.join(folder, "92_brainRDMs.mat"), mat_dtype=True)["RDMs"]
    assert brain.shape == (1, 4, 2)
    rdm = brain[0, 3, 1]["RDM"]
    assert rdm.dtype == np.float32 and rdm.shape == (92, 92)
    put_summary(put, "mat_brain_rdm_1_4_2", rdm, 37)
    elements = brain.ravel(order="F")  # MATLAB's linear order
    put("mat_brain_rdm_sums", [math.fsum(e["RDM"].ravel()) for e in elements])
    put_strings(put, "mat_brain_names", [e["name"][0] for e in elements])

    models = scipy.io.loadmat(os.path.join(folder, "92_modelRDMs.mat"), mat_dtype=True)["Models"].ravel(order="F")
    put_strings(put, "mat_models_classes", classes([m["RDM"] for m in models]))
    put_strings(put, "mat_models_names", [m["name"][0] for m in models])
    put("mat_models_rdm_sums", [math.fsum(m["RDM"].ravel()) for m in models])

    alexnet = scipy.io.loadmat(os.path.join(folder, "modelRDMs_A2020.mat"), mat_dtype=True)["modelRDMs"]
    assert alexnet.shape == (1, 63)
    alexnet = alexnet.ravel(order="F")
    assert all(a["RDM"].shape == (1, 4186) for a in alexnet)
    put_strings(put, "mat_alexnet_classes", classes([a["RDM"] for a in alexnet]))
    put("mat_alexnet_rdm0_head", alexnet[0]["RDM"][0, :10])
    put("mat_alexnet_rdm_sums", [math.fsum(a["RDM"].ravel()) for a in alexnet])
    put_strings(put, "mat_alexnet_repr_names", [a["reprName"][0] for a in alexnet])

    supplement = scipy.io.loadmat(os.path.join(folder, "Kriegeskorte_Neuron2008_supplementalData.mat"), mat_dtype=True)
    put_strings(put, "mat_supplement_category_labels", [c[0] for c in supplement["categoryLabels"].ravel(order="F")])
    put_strings(put, "mat_supplement_category_vectors_class", classes([supplement["categoryVectors"]]))
    put("mat_supplement_category_vectors", supplement["categoryVectors"])
    image = supplement["stimuli_92objs"].ravel(order="F")[5]["image"]
    put_strings(put, "mat_supplement_image6_class", classes([image]))
    put_summary(put, "mat_supplement_image6", image, 101)

    with h5py.File(os.path.join(data_dir, "haxby", "v73.mat"), "r") as f:
        put_strings(put, "mat_v73_variables", [k for k in f.keys() if not k.startswith("#")])
        for name in ("x", "y"):
            put_strings(put, f"mat_v73_{name}_class", [f[name].attrs["MATLAB_class"].decode()])
            put(f"mat_v73_{name}_dims", f[name].shape[::-1])
            put(f"mat_v73_{name}", f[name][()].T)


SECTIONS = [section_npy, section_npz, section_numpy_files, section_nifti, section_mat]


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "data")
    if not os.path.isdir(data_dir):
        sys.exit(f"real data folder {data_dir} not found")
    out = {}
    put = make_put(out)
    for section in SECTIONS:
        section(put, data_dir)
    write_reference(os.path.join(here, "io_values.txt"), out,
                    f"made by make_io_reference.py with numpy {np.__version__}")


if __name__ == "__main__":
    main()
