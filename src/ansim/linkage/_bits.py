"""Bloom-filter columns as NumPy bit matrices (``uint64`` words, one row per record)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ansim.errors import LinkageError

__all__ = ["BitMatrix", "bit_matrix"]

BitMatrix = npt.NDArray[np.uint64]
_WORD_BYTES = 8


def bit_matrix(column: pa.Array | pa.ChunkedArray) -> tuple[BitMatrix, npt.NDArray[np.bool_]]:
    r"""A fixed-size binary column as a ``(records, bits // 64)`` ``uint64`` matrix.

    The matrix is a read-only view of the column's buffer where possible (no copy); rows of
    null entries hold whatever the buffer holds and are marked invalid.

    Args:
        column: ``pa.binary(nbytes)`` values, ``nbytes`` a multiple of 8.

    Returns:
        The bit matrix and a validity mask.

    Raises:
        LinkageError: The column is not fixed-size binary of whole 64-bit words.

    Example:
        >>> bits, valid = bit_matrix(pa.array([bytes([1] + [0] * 7), None], pa.binary(8)))
        >>> bits[valid].tolist(), valid.tolist()
        ([[1]], [True, False])
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    kind = column.type
    if not pa.types.is_fixed_size_binary(kind) or kind.byte_width % _WORD_BYTES:
        raise LinkageError(
            f"a Bloom-filter column must be fixed-size binary of whole 64-bit words, not {kind}"
        )
    width = kind.byte_width
    valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    data = column.buffers()[1]
    n = len(column)
    if data is None or n == 0:
        return np.zeros((n, width // _WORD_BYTES), np.uint64), valid
    raw = np.frombuffer(data, np.uint8, count=(column.offset + n) * width)
    raw = raw[column.offset * width :]
    if raw.ctypes.data % _WORD_BYTES:  # unaligned buffer: copy once
        raw = raw.copy()
    return raw.view(np.uint64).reshape(n, width // _WORD_BYTES), valid
