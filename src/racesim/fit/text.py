"""Text columns as pyarrow arrays: one chunk, their bytes, their distinct cells.

The readers check and convert whole columns of text at once. A column read by pyarrow
is a (large) string array: its cell boundaries and bytes can be looked at with numpy
without a copy (:func:`text_bytes`), and work that depends only on a cell's text can be
done once per distinct cell (:func:`per_distinct`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["distinct", "fixed_width", "one_chunk", "per_distinct", "sorted_changes",
           "text_array", "text_bytes"]


def one_chunk(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column as one array: its only chunk as it is (``combine_chunks`` copies even
    that), else the chunks copied together."""
    if not isinstance(column, pa.ChunkedArray):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def text_array(values: pd.Series) -> pa.Array:
    """A text column as one pyarrow array (no copy when it is one chunk, as read)."""
    return one_chunk(pa.array(values))


def text_bytes(array: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """A text array's cell boundaries (``len + 1`` byte offsets, int64) and the bytes
    they index, without copying; ``None`` for an array with missing cells."""
    if array.null_count or not (pa.types.is_string(array.type) or
                                pa.types.is_large_string(array.type)):
        return None
    if len(array) == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    _, offsets_buffer, data_buffer = array.buffers()
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[array.offset:
                                                         array.offset + len(array) + 1]
    data = np.zeros(0, dtype=np.uint8) if data_buffer is None else \
        np.frombuffer(data_buffer, dtype=np.uint8)
    return offsets.astype(np.int64, copy=False), data


def distinct(values: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """A text column's distinct cells and each row's index into them — when there are at
    most a quarter as many as rows, so that work done once per distinct cell (parsing a
    date, a price) pays for finding them; ``None`` otherwise."""
    if len(values) < 64 or not pd.api.types.is_string_dtype(values):
        return None
    array = text_array(values)
    if array.null_count:
        return None
    encoded = pc.dictionary_encode(array)
    if 4 * len(encoded.dictionary) > len(values):
        return None
    return (pd.Series(pd.array(encoded.dictionary, dtype="str")),
            np.asarray(encoded.indices.to_numpy(), dtype=np.int64))


def per_distinct(values: pd.Series, function: Callable[[pd.Series], np.ndarray]
                 ) -> np.ndarray:
    """``function`` — one whose result for a cell depends only on the cells present, not
    on how often or where — over a text column, computed once per distinct cell when
    :func:`distinct` finds few."""
    found = distinct(values)
    if found is None:
        return np.asarray(function(values))
    cells, index = found
    return np.asarray(function(cells))[index]


def fixed_width(array: pa.ChunkedArray, widest: int) -> tuple[pa.Buffer, int, int, int] | None:
    """(Data buffer, offset of the first byte, width, count) of a one-chunk string
    array whose strings all have the same length of at most ``widest`` bytes; else None."""
    if array.num_chunks != 1 or not (pa.types.is_string(array.type)
                                     or pa.types.is_large_string(array.type)):
        return None
    chunk = array.chunk(0)
    wide = pa.types.is_large_string(chunk.type)
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if wide else np.int32,
                            count=len(chunk) + 1, offset=chunk.offset * (8 if wide else 4))
    width = int(offsets[1] - offsets[0])
    if not 0 < width <= widest or int(offsets[-1] - offsets[0]) != width * len(chunk) \
            or (np.diff(offsets) != width).any():
        return None
    return chunk.buffers()[2], int(offsets[0]), width, len(chunk)


def sorted_changes(array: pa.ChunkedArray) -> np.ndarray | None:
    """Where each value differs from the one before (one flag per value after the
    first) if the values are in ascending byte order; None if they are not. Strings of
    one length of 8–16 bytes are compared as two big-endian integers each, their first
    and their last 8 bytes (which order as the bytes do); others by pyarrow's kernels."""
    fixed = fixed_width(array, 16)
    if fixed is None or fixed[2] < 8:
        if pc.any(pc.less(array[1:], array[:-1])).as_py():
            return None
        return np.asarray(pc.not_equal(array[1:], array[:-1]))
    buffer, start, width, count = fixed
    high, low = (np.ndarray((count,), ">u8", buffer, at, (width,)).astype(np.uint64)
                 for at in (start, start + width - 8))
    same_high = high[1:] == high[:-1]
    if ((high[1:] < high[:-1]) | (same_high & (low[1:] < low[:-1]))).any():
        return None
    return ~same_high | (low[1:] != low[:-1])
