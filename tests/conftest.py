"""Suite-wide test settings."""

import os

from hypothesis import settings

# In CI, property tests draw the same examples every run (derandomised), so a submission lands
# or not on its own merits; locally they explore new examples each run and find new bugs.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Governance homes made by tests use a passphrase key file; a deployment supplies its own.
os.environ.setdefault("ANSIM_KEY_PASSPHRASE", "test-only key file passphrase")
