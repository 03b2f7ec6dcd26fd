"""Sums over many segments of one flat array at once, equal to summing each on its own.

The fit computes for every SKU at once what it used to compute one SKU at a time. numpy
sums a 1-D array pairwise, so the sum of a segment depends on the segment's length:
summing the segments of a padded 2-D array, or with ``np.add.reduceat``, can differ from
summing each segment alone in the last bits. :func:`compressed_sums` groups the segments
by length and sums each group as the rows of one 2-D array (numpy sums each row as it
would that 1-D array), so a vectorised fit gives the very numbers a per-SKU fit did.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compressed_sums", "segment_sums"]


def segment_sums(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sum of each consecutive segment of ``values`` (``lengths[i]`` values each, in
    order), each equal to ``values[segment].sum()``; 0 for an empty segment."""
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros(len(lengths), dtype=values.dtype)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    for length in np.unique(lengths[lengths > 0]):
        which = np.flatnonzero(lengths == length)
        block = values[starts[which][:, None] + np.arange(length)[None, :]]
        out[which] = block.sum(1)
    return out


def compressed_sums(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Each row's sum of its kept values: ``values[i][keep[i]].sum()`` for every row ``i``
    of the 2-D ``values``, in numpy's own order (see the module doc)."""
    if keep.all():
        return np.asarray(values.sum(1))
    return segment_sums(values[keep], keep.sum(1))
