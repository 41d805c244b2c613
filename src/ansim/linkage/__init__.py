"""The linkage unit: links identity parts (serials, tokens, Bloom filters) into a link map.

It never sees attributes: its inputs are identity parts only (``serial``, ``token_*``,
``bf_*``, ``clk``), its output is the link map (serial → project person id, with the match
weight) and a report in counts. Methods: exact tokens, fuzzy Dice on record-level filters,
and a Fellegi–Sunter model on field-level comparisons (the default).
"""

from __future__ import annotations

from ansim.linkage._assignment import ASSIGNMENTS, assign_greedy, assign_optimal, select_links
from ansim.linkage._bits import BitMatrix, bit_matrix
from ansim.linkage._blocking import (
    BlockingPass,
    BlockingRule,
    CandidatePairs,
    block_pairs,
    pairs_in_blocks,
)
from ansim.linkage._comparison import (
    DEFAULT_DICE_BANDS,
    EncodedRecords,
    FieldComparison,
    comparison_levels,
    reached_levels,
)
from ansim.linkage._components import connected_components, pairs_within_groups
from ansim.linkage._config import (
    BLOCKING_MODES,
    CONFIG_KEYS,
    METHODS,
    LinkageConfig,
    example_config,
)
from ansim.linkage._dice import dice_pairs, dice_reference, dice_top_k, popcounts
from ansim.linkage._encoded import (
    automatic_blocking,
    automatic_comparisons,
    check_parts,
    encode_records,
    fitted_to_field,
    shared_columns,
)
from ansim.linkage._estimates import (
    ACROSS_SOURCES,
    ACROSS_SOURCES_POINT,
    OVERCONFIDENCE,
    WITHIN_SOURCE,
    WITHIN_SOURCE_RECORDS,
    Interval,
    cluster_doubt,
    estimated_missed_by_blocking,
    false_links,
    quality_estimates,
    source_doubt,
    within_source_factor,
)
from ansim.linkage._exact import LinkageReport, LinkMap, link_exact, linkage_report, person_ids
from ansim.linkage._model import (
    FellegiSunterModel,
    estimate_m_by_em,
    estimate_u,
    monotone_m,
    monotone_u,
    pattern_counts,
)
from ansim.linkage._model_file import MODEL_FORMAT, LinkageModel
from ansim.linkage._pairs import (
    PAIRS_FILE,
    PAIRS_PART,
    WaterfallStep,
    level_columns,
    pairs_table,
    threshold_sweep,
    waterfall,
)
from ansim.linkage._partitioned import (
    block_pairs_on,
    current_engine,
    on_engine,
    pattern_counts_on,
    using_engine,
)
from ansim.linkage._partitioned_scoring import comparison_levels_on, score_pairs_on
from ansim.linkage._probabilistic import (
    ScoredPairs,
    link,
    link_fuzzy,
    link_probabilistic,
    score_pairs,
)
from ansim.linkage._quality import PairwiseQuality, pairwise_quality, quality_against_truth
from ansim.linkage._report_html import (
    RATES_FILE,
    REPORT_HTML_FILE,
    REPORT_SCRIPT_HASH,
    read_linkage_rates,
    render_linkage_report,
    write_linkage_report_html,
)
from ansim.linkage._service import LINKMAP_FILE, REPORT_FILE, match_files
from ansim.linkage._training import train_model

__all__ = [
    "ACROSS_SOURCES",
    "ACROSS_SOURCES_POINT",
    "ASSIGNMENTS",
    "BLOCKING_MODES",
    "CONFIG_KEYS",
    "DEFAULT_DICE_BANDS",
    "LINKMAP_FILE",
    "METHODS",
    "MODEL_FORMAT",
    "OVERCONFIDENCE",
    "PAIRS_FILE",
    "PAIRS_PART",
    "RATES_FILE",
    "REPORT_FILE",
    "REPORT_HTML_FILE",
    "REPORT_SCRIPT_HASH",
    "WITHIN_SOURCE",
    "WITHIN_SOURCE_RECORDS",
    "BitMatrix",
    "BlockingPass",
    "BlockingRule",
    "CandidatePairs",
    "EncodedRecords",
    "FellegiSunterModel",
    "FieldComparison",
    "Interval",
    "LinkMap",
    "LinkageConfig",
    "LinkageModel",
    "LinkageReport",
    "PairwiseQuality",
    "ScoredPairs",
    "WaterfallStep",
    "assign_greedy",
    "assign_optimal",
    "automatic_blocking",
    "automatic_comparisons",
    "bit_matrix",
    "block_pairs",
    "block_pairs_on",
    "check_parts",
    "cluster_doubt",
    "comparison_levels",
    "comparison_levels_on",
    "connected_components",
    "current_engine",
    "dice_pairs",
    "dice_reference",
    "dice_top_k",
    "encode_records",
    "estimate_m_by_em",
    "estimate_u",
    "estimated_missed_by_blocking",
    "example_config",
    "false_links",
    "fitted_to_field",
    "level_columns",
    "link",
    "link_exact",
    "link_fuzzy",
    "link_probabilistic",
    "linkage_report",
    "match_files",
    "monotone_m",
    "monotone_u",
    "on_engine",
    "pairs_in_blocks",
    "pairs_table",
    "pairs_within_groups",
    "pairwise_quality",
    "pattern_counts",
    "pattern_counts_on",
    "person_ids",
    "popcounts",
    "quality_against_truth",
    "quality_estimates",
    "reached_levels",
    "read_linkage_rates",
    "render_linkage_report",
    "score_pairs",
    "score_pairs_on",
    "select_links",
    "shared_columns",
    "source_doubt",
    "threshold_sweep",
    "train_model",
    "using_engine",
    "waterfall",
    "within_source_factor",
    "write_linkage_report_html",
]
