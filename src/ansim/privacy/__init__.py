"""Differential privacy: DP statistics on the engine, noise from OpenDP, budgets on the ledger.

A release spec (``ReleaseSpec``) lists the statistics; ``plan_release`` calibrates every
measurement and prices the release without reading data; the ledger is charged; only then
are contributions bounded in the engine and OpenDP's samplers add the noise.
"""

from __future__ import annotations

from ansim.privacy._bounding import bound_contributions, derive_keys
from ansim.privacy._consistency import consistent_children, make_consistent
from ansim.privacy._demo import demo_release_spec, write_demo_dp_releases
from ansim.privacy._noise import (
    Mechanism,
    NoisyMeasure,
    calibrate,
    epsilon_of_rho,
    half_width,
    rho_of_epsilon,
)
from ansim.privacy._plan import PlannedQuery, ReleasePlan, SelectionMeasure, plan_release
from ansim.privacy._release import (
    TRIAL_FOLDER,
    DPRelease,
    LedgerBudget,
    OneOffBudget,
    PrivacyBudget,
    check_columns,
    describe_plan,
    release_dp,
    release_file,
    run_release,
    write_dp_release,
)
from ansim.privacy._spec import DerivedColumn, DPQuery, ReleaseSpec, Statistic, parse_release_spec
from ansim.privacy._statistics import DPTable, measure_query
from ansim.privacy._submission import (
    PortalFacts,
    dp_candidate,
    portal_facts,
    portal_table_id,
    release_for_review,
    review_hint,
    submit_dp_release,
)
from ansim.privacy._synth import (
    SyntheticRelease,
    encode_rows,
    run_synthesis,
    synthesize_dp,
    synthesize_file,
    synthetic_candidate,
    write_synthetic,
)
from ansim.privacy._synth_demo import DEMO_METHOD, demo_synthesis_spec, write_demo_synthetic
from ansim.privacy._synth_plan import (
    AIMPlan,
    NoisyMax,
    SynthesisPlan,
    calibrate_noisy_max,
    plan_synthesis,
)
from ansim.privacy._synth_spec import (
    SynthColumn,
    SynthesisMethod,
    SynthesisSpec,
    parse_synthesis_spec,
)
from ansim.privacy._synth_utility import marginal_tvd, utility_report

__all__ = [
    "DEMO_METHOD",
    "TRIAL_FOLDER",
    "AIMPlan",
    "DPQuery",
    "DPRelease",
    "DPTable",
    "DerivedColumn",
    "LedgerBudget",
    "Mechanism",
    "NoisyMax",
    "NoisyMeasure",
    "OneOffBudget",
    "PlannedQuery",
    "PortalFacts",
    "PrivacyBudget",
    "ReleasePlan",
    "ReleaseSpec",
    "SelectionMeasure",
    "Statistic",
    "SynthColumn",
    "SynthesisMethod",
    "SynthesisPlan",
    "SynthesisSpec",
    "SyntheticRelease",
    "bound_contributions",
    "calibrate",
    "calibrate_noisy_max",
    "check_columns",
    "consistent_children",
    "demo_release_spec",
    "demo_synthesis_spec",
    "derive_keys",
    "describe_plan",
    "dp_candidate",
    "encode_rows",
    "epsilon_of_rho",
    "half_width",
    "make_consistent",
    "marginal_tvd",
    "measure_query",
    "parse_release_spec",
    "parse_synthesis_spec",
    "plan_release",
    "plan_synthesis",
    "portal_facts",
    "portal_table_id",
    "release_dp",
    "release_file",
    "release_for_review",
    "review_hint",
    "rho_of_epsilon",
    "run_release",
    "run_synthesis",
    "submit_dp_release",
    "synthesize_dp",
    "synthesize_file",
    "synthetic_candidate",
    "utility_report",
    "write_demo_dp_releases",
    "write_demo_synthetic",
    "write_dp_release",
    "write_synthetic",
]
