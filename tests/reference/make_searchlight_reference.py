#!/usr/bin/python3
"""Reference numbers for the searchlight tests, computed with numpy the way the peers do it.

Run with Debian's python3:  /usr/bin/python3 tests/reference/make_searchlight_reference.py
It rewrites tests/reference/searchlight_values.txt (format: reference_file.py).

- Paper blocks: Dwivedi et al. (2021) `get_blocks` (brainiak's block decomposition) and
  `blocks2sl` back-projection, re-implemented from their description on a small irregular mask.
- MNI mask (when ../shared/data is present, read with nibabel): the histogram of radius-2
  neighbour counts over all 228,483 centres, by convolving the mask with the ball.
- Sphere members: every in-mask voxel within the radius, by brute force over the whole mask, with
  nibabel-style world coordinates through an anisotropic, sheared affine (mm radii).
"""
import os

import numpy as np

from reference_file import as_reference, write_reference

out = {}


def put(name, a):
    out[name] = as_reference(a)


# A small irregular mask, defined by a formula so that the C++ test rebuilds it exactly.
shape = (9, 8, 7)
i, j, k = np.indices(shape)
mask = ((i * 7 + j * 3 + k * 5) % 11 < 5) | ((i - 4) ** 2 + (j - 4) ** 2 + (k - 3) ** 2 <= 6)
put("mask_shape", shape)
put("mask_voxels", [mask.sum()])


# --- paper blocks (get_blocks) ---------------------------------------------------------------
def get_blocks(mask, sl_rad, max_blk_edge):
    blocks = []
    outer = max_blk_edge + 2 * sl_rad
    for a in range(0, mask.shape[0], max_blk_edge):
        for b in range(0, mask.shape[1], max_blk_edge):
            for c in range(0, mask.shape[2], max_blk_edge):
                block_shape = mask[a:a + outer, b:b + outer, c:c + outer].shape
                core = mask[a + sl_rad:a + block_shape[0] - sl_rad,
                            b + sl_rad:b + block_shape[1] - sl_rad,
                            c + sl_rad:c + block_shape[2] - sl_rad]
                if np.any(core):
                    blocks.append(((a, b, c), block_shape))
    return blocks


def blocks2sl(mask, values, sl_rad, max_blk_edge):
    blocks = get_blocks(mask, sl_rad, max_blk_edge)
    volume = np.full(mask.shape, np.nan)
    for value, (pt, sz) in zip(values, blocks):
        volume[pt[0] + sl_rad:pt[0] + sl_rad + sz[0],
               pt[1] + sl_rad:pt[1] + sl_rad + sz[1],
               pt[2] + sl_rad:pt[2] + sl_rad + sz[2]] = value
    return volume


for rad, stride in [(1, 2), (2, 3)]:
    blocks = get_blocks(mask, rad, stride)
    tag = f"blocks_r{rad}_s{stride}"
    put(tag + "_corners", [pt for pt, _ in blocks])
    # Members: in-mask voxels of the outer block, counted.
    put(tag + "_members", [[mask[a:a + sz[0], b:b + sz[1], c:c + sz[2]].sum()]
                           for (a, b, c), sz in blocks])
    values = np.arange(1, len(blocks) + 1, dtype=float)
    put(tag + "_paint", blocks2sl(mask, values, rad, stride).reshape(1, -1))

# --- spheres in mm through an anisotropic, sheared affine ---------------------------------------
affine = np.array([[2.0, 0.3, 0.0, -10.0],
                   [0.0, 2.5, 0.2, 4.0],
                   [0.1, 0.0, 3.0, 7.5],
                   [0.0, 0.0, 0.0, 1.0]])
put("affine", affine)
voxels = np.argwhere(mask)            # C order: the data columns
world = voxels @ affine[:3, :3].T + affine[:3, 3]
for radius in (4.5, 7.0):
    d = np.sqrt(((world[:, None, :] - world[None, :, :]) ** 2).sum(-1))
    members = (d <= radius).sum(1)
    put(f"sphere_mm_{radius:g}_counts", members.reshape(1, -1))
    # Member sets of a few centres, sorted column indices.
    for c in (0, 57, len(voxels) - 1):
        put(f"sphere_mm_{radius:g}_members_{c}", np.flatnonzero(d[c] <= radius).reshape(1, -1))

# --- the MNI152 2 mm brain mask: radius-2 neighbour counts by convolution -------------------------
mni = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data",
                   "mni", "MNI152_T1_2mm_brain_mask.nii.gz")
if os.path.exists(mni):
    import nibabel as nib
    from scipy.ndimage import convolve
    brain = np.asarray(nib.load(mni).dataobj) > 0
    o = np.arange(-2, 3)
    ball = ((o[:, None, None] ** 2 + o[None, :, None] ** 2 + o[None, None, :] ** 2) <= 4)
    counts = convolve(brain.astype(np.int64), ball.astype(np.int64), mode="constant")[brain]
    put("mni_voxels", [brain.sum()])
    put("mni_r2_count_histogram", np.bincount(counts, minlength=34)[None, :])

write_reference(os.path.join(os.path.dirname(os.path.abspath(__file__)), "searchlight_values.txt"),
                out, f"made by make_searchlight_reference.py with numpy {np.__version__}")
