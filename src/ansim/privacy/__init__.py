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
    DPRelease,
    LedgerBudget,
    OneOffBudget,
    PrivacyBudget,
    describe_plan,
    release_dp,
    release_file,
    run_release,
    write_dp_release,
)
from ansim.privacy._spec import DerivedColumn, DPQuery, ReleaseSpec, Statistic, parse_release_spec
from ansim.privacy._statistics import DPTable, measure_query

__all__ = [
    "DPQuery",
    "DPRelease",
    "DPTable",
    "DerivedColumn",
    "LedgerBudget",
    "Mechanism",
    "NoisyMeasure",
    "OneOffBudget",
    "PlannedQuery",
    "PrivacyBudget",
    "ReleasePlan",
    "ReleaseSpec",
    "SelectionMeasure",
    "Statistic",
    "bound_contributions",
    "calibrate",
    "consistent_children",
    "demo_release_spec",
    "derive_keys",
    "describe_plan",
    "epsilon_of_rho",
    "half_width",
    "make_consistent",
    "measure_query",
    "parse_release_spec",
    "plan_release",
    "release_dp",
    "release_file",
    "rho_of_epsilon",
    "run_release",
    "write_demo_dp_releases",
    "write_dp_release",
]
