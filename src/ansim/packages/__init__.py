"""Files that travel between parties.

For now a part is a Parquet file whose metadata names its dataset, kind of part and project;
sealing (encryption for the recipient and the sender's signature) is the custodian-side issue's
work and will wrap these same files.
"""

from __future__ import annotations

from ansim.packages._parts import Part, read_part

__all__ = ["Part", "read_part"]
