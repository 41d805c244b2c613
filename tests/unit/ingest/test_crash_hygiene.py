"""kill -9 at random points of ingest and prepare leaves the old output or the new (class 6).

The prepared parts are one set: after a kill and the next run's recovery, the identity part,
the content part and the serial map hold the same serials (all old or all new), never a mix.
"""

import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ansim._atomic import atomic_directory, atomic_file_set, clean_stale, recover_file_set

SPEC = """
dataset: cases
custodian: gyeonggi
record_id: record_id
columns:
  name: {type: string, role: direct_identifier, kind: korean_name}
  rrn: {type: string, role: direct_identifier, kind: rrn}
  sex: {type: category, role: quasi_identifier, values: [M, F]}
  note: {type: string, role: attribute}
"""
WORKER = """
import os, signal, sys
from pathlib import Path
import pyarrow.parquet as pq
from ansim.identity import LinkageSecret, prepare
from ansim.ingest import ingest_file, load_ingested
from ansim.schema import DatasetSpec

root = Path(sys.argv[1])
spec = DatasetSpec.from_yaml(root / "spec.yaml")
secret = LinkageSecret.generate()
calls = [0, -1]  # calls so far, the call to die at (before it if even, after it if odd)


def hooked(original):
    def run(*args, **kwargs):
        calls[0] += 1
        if calls[0] * 2 == calls[1]:
            os.kill(os.getpid(), signal.SIGKILL)
        out = original(*args, **kwargs)
        if calls[0] * 2 + 1 == calls[1]:
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    return run


os.replace = hooked(os.replace)
Path.rename = hooked(Path.rename)
Path.write_bytes = hooked(Path.write_bytes)
Path.write_text = hooked(Path.write_text)
pq.write_table = hooked(pq.write_table)


def run():
    result = ingest_file(spec, root / "in.csv", root / "out")
    _, records = load_ingested(result.directory)
    prepare(spec, records, secret, root / "prepared", project="p")


run()  # a first run warms every cache (numba's included: its writes are not ingest's)
calls[0] = 0
run()  # a complete run: the old output, and the count of writes a run makes
print(calls[0], flush=True)
for line in sys.stdin:
    point = int(line)
    pid = os.fork()
    if pid == 0:
        calls[0], calls[1] = 0, point
        run()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("killed" if os.WIFSIGNALED(status) else "finished", flush=True)
"""
POINTS = 24


def _hidden(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if p.name.endswith((".tmp", ".old", ".commit"))]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    rows = [f"r{i},김민준{i % 50},800522-1{i:06d},{'MF'[i % 2]},note {i}" for i in range(3000)]
    (tmp_path / "in.csv").write_text(
        "record_id,name,rrn,sex,note\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    (tmp_path / "worker.py").write_text(WORKER, encoding="utf-8")
    return tmp_path


def _complete(root: Path) -> None:
    out = root / "out" / "cases"
    if out.exists():  # the old or the new ingest output, whole
        assert {p.name for p in out.iterdir()} >= {"records.parquet", "summary.json", "spec.yaml"}
        assert pq.read_table(out / "records.parquet").num_rows == 3000
    serials = []
    for part in ("identity", "content", "serials"):
        path = root / "prepared" / part / "cases.parquet"
        assert path.exists()  # the first, complete run made them; a kill never removes them
        serials.append(pq.read_table(path, columns=["serial"])["serial"].to_pylist())
    assert len(serials[0]) == 3000
    assert serials[0] == serials[1] == serials[2], "parts of two different runs"


def test_kill_9_at_random_points_leaves_old_or_new_and_no_leftovers(workdir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3] / "src")}
    proc = subprocess.Popen(
        [sys.executable, str(workdir / "worker.py"), str(workdir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        writes = int(proc.stdout.readline())
        points = random.Random(10).sample(range(2 * writes), min(POINTS, 2 * writes))
        assert len(points) >= 20
        leftovers_seen = 0
        for point in points:
            proc.stdin.write(f"{point}\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "killed"
            hidden = _hidden(workdir)
            leftovers_seen += bool(hidden)
            for path in hidden:  # what a kill leaves is private to the owner
                mode = stat.S_IMODE(path.stat().st_mode)
                assert mode & 0o077 == 0, (path.name, oct(mode))
            # the next run first cleans up what the dead process left
            recover_file_set(workdir / "prepared", "cases")
            for target in [workdir / "out" / "cases"] + [
                workdir / "prepared" / d / f"cases.{ext}"
                for d, ext in (("identity", "parquet"), ("content", "parquet"),
                               ("serials", "parquet"), ("reports", "prepare.json"))
            ]:  # fmt: skip
                clean_stale(target)
            assert _hidden(workdir) == []
            _complete(workdir)
        assert leftovers_seen >= len(points) // 4
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()


def test_a_swap_killed_between_renames_restores_the_old_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_directory(out) as tmp:
        (tmp / "a").write_text("old")
    # what a kill between 'out → .old' and '.tmp → out' leaves, from a dead process
    out.rename(tmp_path / ".out.999999999.abc.old")
    (tmp_path / ".out.999999999.def.tmp").mkdir()
    clean_stale(out)
    assert (out / "a").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_temporary_folders_are_private(tmp_path: Path) -> None:
    with atomic_directory(tmp_path / "out") as tmp:
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o700


def test_a_file_set_killed_after_its_commit_is_rolled_forward(tmp_path: Path) -> None:
    with atomic_file_set(tmp_path, "d") as staging:
        (staging / "a.txt").write_text("old a")
        (staging / "b.txt").write_text("old b")
    # a dead process committed a new set and moved only 'a' before it died
    committed = tmp_path / ".d.set.999999999.abc.commit"
    committed.mkdir()
    (committed / ".manifest").write_text("a.txt\nb.txt")
    (committed / "b.txt").write_text("new b")
    (tmp_path / "a.txt").write_text("new a")
    assert recover_file_set(tmp_path, "d") == [committed]
    assert (tmp_path / "a.txt").read_text() == "new a"
    assert (tmp_path / "b.txt").read_text() == "new b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_a_file_set_that_fails_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_file_set(tmp_path, "d") as staging:
        (staging / "a.txt").write_text("new")
        raise RuntimeError("boom")
    assert (tmp_path / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_file_set_staging_is_private_and_a_live_process_set_is_left_alone(tmp_path: Path) -> None:
    live = tmp_path / f".d.set.{os.getpid()}.x.tmp"
    live.mkdir()
    with atomic_file_set(tmp_path, "d") as staging:
        assert stat.S_IMODE(staging.stat().st_mode) == 0o700
        (staging / "a.txt").write_text("1")
    assert live.exists()
