"""The linkage unit: links identity parts (serials and tokens) into a link map.

It never sees attributes: its inputs are identity parts only, its output is the link map
(serial → project person id) and a report in counts.
"""

from __future__ import annotations

from ansim.linkage._components import connected_components, pairs_within_groups
from ansim.linkage._exact import LinkageReport, LinkMap, link_exact
from ansim.linkage._quality import PairwiseQuality, pairwise_quality, quality_against_truth
from ansim.linkage._service import LINKMAP_FILE, REPORT_FILE, match_files

__all__ = [
    "LINKMAP_FILE",
    "REPORT_FILE",
    "LinkMap",
    "LinkageReport",
    "PairwiseQuality",
    "connected_components",
    "link_exact",
    "match_files",
    "pairs_within_groups",
    "pairwise_quality",
    "quality_against_truth",
]
