"""Encrypted vs plaintext 2-way table (31 si/gun x 2 sexes) and PSI time.

Run: PYTHONPATH=src .venv/bin/python bench/encrypted/run.py --records 100000 [--psi 100000]
     [--packed] [--bounds]

``--packed``: the fast layout (one CKKS ciphertext per 2048 records holding values and presence
indicators, 1024 with squares too; one fold per cell). Without it: one stream per statistic
(CKKS sums, BFV counts, 4096 records per ciphertext; one fold per cell and statistic).
"""

import argparse
import os
import resource
import time

import numpy as np
import pyarrow as pa
import tenseal as ts

from ansim.encrypted import (
    BFV,
    CKKS,
    EncryptedAttribute,
    ProjectCipherKeys,
    PsiTranscript,
    Scheme,
    aggregate_encrypted,
    encrypt_attributes,
    overlap_size,
    plaintext_aggregates,
)
from ansim.encrypted._ceremony import _decrypt_attribute
from ansim.regions import GYEONGGI_SIGUNGU


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--psi", type=int, default=0)
    parser.add_argument("--bounds", action="store_true", help="also the sum of squares")
    parser.add_argument("--packed", action="store_true", help="the fast packed layout")
    parser.add_argument("--skip-tables", action="store_true", help="PSI only")
    args = parser.parse_args()
    n = args.records
    rng = np.random.default_rng(0)
    serial = pa.array([f"{i:08d}" for i in range(n)])
    si = sorted(GYEONGGI_SIGUNGU)[:31]
    values = pa.table({"serial": serial, "pay": rng.integers(100_000, 1_000_000, n).astype(float)})
    groups = pa.table({"serial": serial, "si": rng.choice(si, n), "sex": rng.choice(["M", "F"], n)})
    params = {Scheme.CKKS: CKKS, Scheme.BFV: BFV}
    keys = {s: ProjectCipherKeys.generate(p) for s, p in params.items()}
    public = {s: k.public for s, k in keys.items()}
    attr = EncryptedAttribute("pay", bounds=args.bounds, packed=args.packed)
    if args.skip_tables:
        _psi(args.psi)
        return
    t = time.perf_counter()
    cts = encrypt_attributes(values, [attr], public, params, project="b", dataset="d")
    enc = time.perf_counter() - t
    t = time.perf_counter()
    agg = aggregate_encrypted(cts, groups, ["si", "sex"], public)
    hub = time.perf_counter() - t
    secret = {s: ts.context_from(k.secret) for s, k in keys.items()}
    t = time.perf_counter()
    got = _decrypt_attribute(agg, "pay", 1.0, secret)
    dec = time.perf_counter() - t
    t = time.perf_counter()
    ref = plaintext_aggregates(values, groups, ["si", "sex"], "pay")
    plain = time.perf_counter() - t
    sizes = cts.column("ciphertext").to_pylist()
    print(f"records {n:,}; cells {len(agg.cells)}; streams {attr.streams}; blocks {attr.blocks}")
    print(f"custodian encrypt {enc:.1f} s; hub encrypted table {hub:.1f} s; decrypt {dec:.2f} s")
    print(f"plaintext table {plain:.2f} s")
    total = sum(map(len, sizes)) / 1e6
    print(f"ciphertexts {len(sizes)}, {total:.1f} MB ({len(sizes[0]):,} B each)")
    print(
        f"counts equal: {got.count.tolist() == ref.count.tolist()}; "
        f"max abs CKKS error of a cell sum: {np.abs(got.sum - ref.sum).max():.4f} KRW "
        f"(largest cell sum {ref.sum.max():.3e})"
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    _psi(args.psi)


def _psi(n: int) -> None:
    if not n:
        return
    a = [f"{i:010d}" for i in range(n)]
    b = [f"{i:010d}" for i in range(n // 2, n + n // 2)]
    t = time.perf_counter()
    transcript = PsiTranscript([])
    size = overlap_size(a, b, transcript=transcript)
    took = time.perf_counter() - t
    print(
        f"PSI {n:,} x {n:,}: overlap {size:,} in {took:.1f} s, "
        f"{transcript.bytes_sent / 1e6:.1f} MB of messages; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
