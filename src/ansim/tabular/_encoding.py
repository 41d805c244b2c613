"""Text encoding detection for Korean public data: UTF-8, UTF-8 with BOM, or CP949."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from ansim.errors import IngestError

__all__ = ["DecodedText", "decode_text"]

_CANDIDATES = ("utf-8", "cp949")


@dataclass(frozen=True)
class DecodedText:
    """Text decoded from a file's bytes.

    Bytes that are invalid in the chosen encoding are kept as lone surrogates
    (``surrogateescape``) so that the rows holding them can be quarantined, not lost.

    Attributes:
        text: The decoded text.
        encoding: The encoding used (``utf-8-sig`` when a BOM was present).
        invalid_bytes: How many bytes could not be decoded.
    """

    text: str
    encoding: str
    invalid_bytes: int


def _count_invalid(text: str) -> int:
    return sum(1 for ch in text if "\udc80" <= ch <= "\udcff")


def decode_text(data: bytes, declared: str | None = None) -> DecodedText:
    """Decode a file's bytes, detecting the encoding unless one is declared.

    Detection: a UTF-8 BOM means UTF-8; otherwise strict UTF-8, then strict CP949; if neither
    decodes every byte, the one with fewer invalid bytes wins and those rows are quarantined.

    Args:
        data: The file's bytes.
        declared: An encoding named by the dataset spec, if any.

    Returns:
        The decoded text with the encoding used.

    Raises:
        IngestError: The declared encoding is unknown.

    Example:
        >>> decode_text("이름,나이".encode("cp949")).encoding
        'cp949'
        >>> decode_text(codecs.BOM_UTF8 + "이름".encode()).text
        '이름'
    """
    if declared is not None:
        try:
            info = codecs.lookup(declared)
        except LookupError:
            raise IngestError(f"unknown text encoding {declared!r} in the spec") from None
        if not getattr(info, "_is_text_encoding", True):  # zlib, base64: bytes to bytes
            raise IngestError(f"{declared!r} is not a text encoding: name one such as cp949")
        name = info.name
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        try:
            text = data.decode(name, errors="surrogateescape")
        except (UnicodeError, ValueError):  # codecs (idna, punycode) that refuse the handler
            raise IngestError(f"the data cannot be read as {name}: name another encoding") from None
        return DecodedText(text, name, _count_invalid(text))
    if data.startswith(codecs.BOM_UTF8):
        text = data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="surrogateescape")
        return DecodedText(text, "utf-8-sig", _count_invalid(text))
    for name in _CANDIDATES:
        try:
            return DecodedText(data.decode(name), name, 0)
        except UnicodeDecodeError:
            continue
    decoded = [data.decode(name, errors="surrogateescape") for name in _CANDIDATES]
    counts = [_count_invalid(t) for t in decoded]
    best = counts.index(min(counts))
    return DecodedText(decoded[best], _CANDIDATES[best], counts[best])
