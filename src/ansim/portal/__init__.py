"""The open statistics portal: published tables, their pages and the KOSIS-style open API.

The release path writes :class:`PublishedTable` files with :func:`publish`; the portal reads
those files and nothing else.
"""

from __future__ import annotations

from ansim.portal._charts import TableShape, figures, table_shape
from ansim.portal._formats import kosis_rows, plain_rows, safe_csv, xlsx_bytes
from ansim.portal._geo import build_gyeonggi_geojson, gyeonggi_geojson
from ansim.portal._limits import (
    API_KEY_HEADER,
    BucketStore,
    MemoryBucketStore,
    RateLimit,
    SqliteBucketStore,
    TokenBuckets,
    api_key_digest,
    api_keys_file,
    issue_api_key,
    rate_limits_file,
)
from ansim.portal._published import (
    SUPPRESSED_SYMBOL,
    Cell,
    PublishedTable,
    TableMetadata,
    format_number,
    load_published,
    public_dir,
    publish,
)
from ansim.portal._router import Catalogue, create_app, public_router

__all__ = [
    "API_KEY_HEADER",
    "SUPPRESSED_SYMBOL",
    "BucketStore",
    "Catalogue",
    "Cell",
    "MemoryBucketStore",
    "PublishedTable",
    "RateLimit",
    "SqliteBucketStore",
    "TableMetadata",
    "TableShape",
    "TokenBuckets",
    "api_key_digest",
    "api_keys_file",
    "build_gyeonggi_geojson",
    "create_app",
    "figures",
    "format_number",
    "gyeonggi_geojson",
    "issue_api_key",
    "kosis_rows",
    "load_published",
    "plain_rows",
    "public_dir",
    "public_router",
    "publish",
    "rate_limits_file",
    "safe_csv",
    "table_shape",
    "xlsx_bytes",
]
