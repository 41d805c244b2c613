"""``ansim demo --encrypted`` end to end on a small register (issue 17)."""

import json
import subprocess
import sys

import pyarrow.csv as pacsv
import pytest

from ansim.demo._business import generate_business_world
from ansim.demo._encrypted import ENCRYPTED_PROJECT
from ansim.governance import Governance

FIRMS, SEED = 400, 5


@pytest.fixture(scope="module")
def encrypted_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("enc")
    result = subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", "demo", "--encrypted",
         "--firms", str(FIRMS), "--seed", str(SEED), "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result.stdout


@pytest.mark.slow
def test_published_tables_match_the_plaintext_path(encrypted_demo):
    out, stdout = encrypted_demo
    comparison = json.loads((out / "evaluation" / "encrypted_vs_plaintext.json").read_text())
    assert set(comparison) == {
        "turnover-by-sigungu-sector",
        "support-by-sigungu-sector",
        "support-by-sigungu-sex",
    }
    for name, c in comparison.items():
        assert c["same_pattern"] and c["counts_equal"], name
        assert c["max_abs_error_sum"] < 0.01, name  # thousand KRW: under 10 KRW
        released = pacsv.read_csv(out / "release" / "encrypted" / f"{name}.csv").to_pylist()
        reference = pacsv.read_csv(out / "evaluation" / "plaintext" / f"{name}.csv").to_pylist()
        assert len(released) == len(reference) == c["cells"]
        assert sum(r["status"] == "published" for r in released) > 0
        for r in released:
            if r["status"] == "published":
                assert r["count"] == 0 or r["count"] >= 10  # empty cells are published
    assert "exact maximum CKKS error" in stdout and "시군" in stdout and "si/gun" in stdout


@pytest.mark.slow
def test_the_ceremony_and_the_release_are_audited(encrypted_demo):
    out, _ = encrypted_demo
    gov = Governance(out / "governance")
    try:
        actions = [e.action for e in gov.audit.events(ENCRYPTED_PROJECT)]
        assert actions.count("decrypt_aggregates") == 3
        assert actions.count("release_output") == 3 and "issue_key" in actions
        assert gov.verify_audit().ok
    finally:
        gov.close()


@pytest.mark.slow
def test_the_hub_holds_no_plaintext_value_of_an_encrypted_attribute(encrypted_demo):
    out, _ = encrypted_demo
    world = generate_business_world(FIRMS, SEED)
    values = {int(v) for v in world.support.column("support_krw").to_pylist()}
    values |= {int(v) for v in world.register.column("turnover_krw").to_pylist()}
    texts = [str(v).encode() for v in values if v >= 1_000_000]
    brns = [b.encode() for b in world.register.column("brn").to_pylist()[:50]]
    scanned = 0
    for path in [*(out / "hub").rglob("*"), *(out / "governance").rglob("*.db")]:
        if path.is_file():
            data = path.read_bytes()
            scanned += 1
            assert not any(t in data for t in texts), path.name
            assert not any(b in data or b.replace(b"-", b"") in data for b in brns), path.name
    assert scanned >= 4
