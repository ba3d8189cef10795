"""The reference-file format the dnn2brain tests read (tests/support/reference_data.hpp).

A comment line, then per array a header line "name rows cols" and rows*cols values in row-major
order (%.17g). Written to a temporary file and renamed, so an interrupted run leaves no half file.
"""
import os

import numpy as np


def as_reference(a):
    """Any array-like as the 2-D float64 array the format stores."""
    return np.atleast_2d(np.asarray(a, dtype=np.float64))


def write_reference(path, arrays, comment):
    with open(path + ".tmp", "w") as f:
        f.write(f"# {comment}\n")
        for name, a in arrays.items():
            f.write(f"{name} {a.shape[0]} {a.shape[1]}\n")
            f.write(" ".join(f"{v:.17g}" for v in a.ravel()) + "\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {len(arrays)} arrays to {path}")
