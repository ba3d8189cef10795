#!/usr/bin/python3
"""Side-by-side whole-brain searchlight RDMs: dnn2brain against the Python code paths users run.

Usage (Debian's python3 with python3-scipy and python3-nibabel; build bench_searchlight first, see
bench/CMakeLists.txt):
    /usr/bin/python3 bench/compare_searchlight.py [build/bench/bench] [--centres N]

Same mask (the MNI152 2 mm brain mask of ../shared/data/mni, 228,483 voxels), 50 conditions of
float32 data, correlation-distance RDMs of radius-2 spheres (<= 2 voxels: 33 members inside the
brain), three Python approaches re-implemented from their documented algorithms:

- rsatoolbox-style (rsatoolbox.util.searchlight): neighbours of each centre from a meshgrid of the
  surrounding box and scipy cdist, kept when inside the mask; then one RDM per centre computed the
  way rsatoolbox's calc_rdm 'correlation' does (centre, normalise, Gram), centre by centre in
  Python. (rsatoolbox itself keeps distance < r, 27 members at r = 2; here <= r for equal work.)
- brainiak-style (brainiak.searchlight.Searchlight with a sphere): for every in-mask voxel the
  sphere's sub-cube of the 4-D data is cut out, masked by the sphere and the brain mask, and a
  user function (np.corrcoef, upper triangle) is called on it.
- hand-vectorised numpy: all neighbourhoods gathered into a (centres, 33, 50) array in chunks,
  then one batched matrix product per chunk.

Each approach runs in a child process, so that its peak memory can be read. The two per-centre
loops run on N centres spread evenly over the mask (default: all); with N below all, their times
are scaled to the whole mask linearly, and the output says so. The vectorised version always runs
on the whole mask. Every timing is a single run (minutes each); dnn2brain's is the median of
bench_searchlight's repetitions in the same run.
"""
import multiprocessing
import os
import resource
import sys
import time

import nibabel as nib
import numpy as np
from scipy.spatial.distance import cdist

from side_by_side import run_benchmark

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = os.path.join(HERE, "..", "..", "shared", "data", "mni", "MNI152_T1_2mm_brain_mask.nii.gz")
RADIUS = 2
CONDITIONS = 50


def correlation_rdm(patterns):
    """rsatoolbox's calc_rdm 'correlation' on one searchlight: conditions x voxels -> condensed."""
    ma = patterns - patterns.mean(axis=1, keepdims=True)
    ma /= np.sqrt(np.einsum("ij,ij->i", ma, ma))[:, None]
    rdm = 1.0 - np.einsum("ik,jk->ij", ma, ma)
    return rdm[np.triu_indices(patterns.shape[0], 1)]


def rsatoolbox_style(mask, data, picked):
    index = -np.ones(mask.shape, dtype=np.int64)
    voxels = np.argwhere(mask)
    index[tuple(voxels.T)] = np.arange(len(voxels))
    out = []
    for c in voxels[picked]:
        ranges = [np.arange(max(c[d] - RADIUS, 0), min(c[d] + RADIUS + 1, mask.shape[d]))
                  for d in range(3)]
        grid = np.stack(np.meshgrid(*ranges, indexing="ij"), -1).reshape(-1, 3)
        near = grid[cdist(grid, c[None, :]).ravel() <= RADIUS]
        members = index[tuple(near.T)]
        members = members[members >= 0]
        out.append(correlation_rdm(data[:, members]))
    return len(out)


def brainiak_style(mask, data, picked):
    volume = np.zeros(mask.shape + (CONDITIONS,), dtype=data.dtype)
    volume[mask] = data.T
    offsets = np.arange(-RADIUS, RADIUS + 1)
    sphere = (offsets[:, None, None] ** 2 + offsets[None, :, None] ** 2
              + offsets[None, None, :] ** 2) <= RADIUS ** 2
    padded = np.pad(volume, [(RADIUS, RADIUS)] * 3 + [(0, 0)])
    padded_mask = np.pad(mask, RADIUS)
    count = 0
    for c in np.argwhere(mask)[picked]:
        cube = padded[c[0]:c[0] + 2 * RADIUS + 1, c[1]:c[1] + 2 * RADIUS + 1,
                      c[2]:c[2] + 2 * RADIUS + 1]
        keep = sphere & padded_mask[c[0]:c[0] + 2 * RADIUS + 1, c[1]:c[1] + 2 * RADIUS + 1,
                                    c[2]:c[2] + 2 * RADIUS + 1]
        patterns = cube[keep].T                      # conditions x members
        r = np.corrcoef(patterns)
        _ = 1.0 - r[np.triu_indices(CONDITIONS, 1)]
        count += 1
    return count


def numpy_vectorised(mask, data, _, chunk=4096):
    index = -np.ones(mask.shape, dtype=np.int64)
    voxels = np.argwhere(mask)
    index[tuple(voxels.T)] = np.arange(len(voxels))
    padded = np.pad(index, RADIUS, constant_values=-1)
    o = np.arange(-RADIUS, RADIUS + 1)
    offsets = np.argwhere((o[:, None, None] ** 2 + o[None, :, None] ** 2
                           + o[None, None, :] ** 2) <= RADIUS ** 2) - RADIUS
    # A zero column stands for members outside the mask: it changes neither sums nor products.
    extended = np.concatenate([data, np.zeros((data.shape[0], 1), data.dtype)], axis=1)
    iu = np.triu_indices(CONDITIONS, 1)
    count = 0
    for start in range(0, len(voxels), chunk):
        c = voxels[start:start + chunk] + RADIUS
        members = padded[tuple((c[:, None, :] + offsets[None, :, :]).transpose(2, 0, 1))]
        valid = members >= 0
        x = extended[:, np.where(valid, members, -1)].transpose(1, 0, 2)   # chunk x cond x k
        n = valid.sum(1)[:, None, None]
        x = x - x.sum(2, keepdims=True) / n
        x *= valid[:, None, :]
        x /= np.sqrt(np.einsum("cik,cik->ci", x, x))[:, :, None]
        rdms = 1.0 - np.matmul(x, x.transpose(0, 2, 1))[:, iu[0], iu[1]]   # batched GEMM
        count += len(rdms)
    return count


def timed_child(name, fn, mask, data, picked, queue):
    t0 = time.perf_counter()
    fn(mask, data, picked)
    queue.put((name, time.perf_counter() - t0,
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))


def main():
    args = sys.argv[1:]
    folder = next((a for a in args if not a.startswith("--") and not a.isdigit()),
                  "build/bench/bench")
    centres = None
    if "--centres" in args:
        centres = int(args[args.index("--centres") + 1])
    mask = np.asarray(nib.load(MASK).dataobj) > 0
    total = int(mask.sum())
    centres = total if centres is None else min(centres, total)
    rng = np.random.default_rng(0)
    data = rng.random((CONDITIONS, total), dtype=np.float32)
    print(f"numpy {np.__version__}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(auto)')};"
          f" {os.cpu_count()} cores; MNI mask {total} voxels, radius {RADIUS} (<=), "
          f"{CONDITIONS} conditions, float32")
    scale = total / centres
    picked = np.linspace(0, total - 1, centres).round().astype(np.int64)
    if centres < total:
        print(f"per-centre loops timed on {centres} centres spread over the mask, scaled x{scale:.2f}")

    ctx = multiprocessing.get_context("fork")
    results = {}
    for name, fn, factor in [("rsatoolbox-style", rsatoolbox_style, scale),
                             ("brainiak-style", brainiak_style, scale),
                             ("numpy vectorised", numpy_vectorised, 1.0)]:
        queue = ctx.Queue()
        p = ctx.Process(target=timed_child, args=(name, fn, mask, data, picked, queue))
        p.start()
        name, seconds, peak = queue.get()
        p.join()
        results[name] = (seconds * factor, peak)

    ours = run_benchmark(os.path.join(folder, "bench_searchlight"), "searchlight_rdms<float>/0/")
    (seconds, record), = ours.values()
    print(f"\n{'approach':<20} {'whole mask':>12} {'peak RSS':>10} {'dnn2brain speed-up':>19}")
    for name, (t, peak) in results.items():
        print(f"{name:<20} {t:>10.2f} s {peak:>7.0f} MiB {t / seconds:>18.0f}x")
    print(f"{'dnn2brain':<20} {seconds:>10.3f} s {record['peak_rss_MiB']:>7.0f} MiB "
          f"(centres/s {record['centres_per_s']:.0f}, {record['GFLOPs']:.1f} GFLOP/s)")


if __name__ == "__main__":
    main()
