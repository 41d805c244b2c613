"""Issuing a project's encryption keys: public contexts out, the secret key escrowed and split.

An administrator issues the keys (governance's ``issue_key`` permission, audited with the key
id, the public-key fingerprints, the threshold and the holders). The secret contexts exist
only during :meth:`ProjectEncryption.issue`: they are escrowed under a fresh key whose Shamir
shares are sealed for their holders, and nothing else of them is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ansim._atomic import write_bytes_atomic
from ansim.encrypted._escrow import KeyEscrow, KeyHolder, seal_shares, split_key
from ansim.encrypted._schemes import BFV, CKKS, ProjectCipherKeys, Scheme, SchemeParameters
from ansim.errors import IntegrityError
from ansim.governance import Governance, Operation
from ansim.packages import PartyKeyStore

__all__ = ["ProjectEncryption"]


@dataclass(frozen=True)
class ProjectEncryption:
    """A project's public encryption keys and escrowed decryption key.

    Attributes:
        project: The project.
        parameters: Scheme → its parameters.
        public: Scheme → the serialised public context (for custodians and the hub).
        escrow: The escrowed secret key.
        shares: Holder user → the sealed package of their share.
    """

    project: str
    parameters: Mapping[Scheme, SchemeParameters]
    public: Mapping[Scheme, bytes]
    escrow: KeyEscrow
    shares: Mapping[str, Path]

    @classmethod
    def issue(
        cls,
        governance: Governance,
        administrator: str,
        project: str,
        *,
        holders: Sequence[KeyHolder],
        threshold: int,
        issuer: PartyKeyStore,
        out: Path,
        parameters: Mapping[Scheme, SchemeParameters] | None = None,
    ) -> ProjectEncryption:
        """Generate the keys, escrow and split the secret, seal the shares; audited.

        Args:
            governance: The governance service (the administrator's right is checked first).
            administrator: Who issues.
            project: The project.
            holders: The named share holders.
            threshold: k, shares needed to decrypt (at least 2).
            issuer: The issuing party's key store (signs the share packages; it must trust
                every holder's party).
            out: Directory for ``public_<scheme>.tenseal``, ``escrow.bin`` and
                ``shares/<party>/`` (each holder's sealed share).
            parameters: Scheme → parameters (default: :data:`CKKS` and :data:`BFV`).

        Raises:
            AccessDenied: The administrator may not issue keys in this project.
            InvalidSpecError: A threshold below 2, or too few or repeated holders.
        """
        params = dict(parameters or {Scheme.CKKS: CKKS, Scheme.BFV: BFV})
        keys = {s: ProjectCipherKeys.generate(params[s]) for s in Scheme}
        escrow, shares = split_key(
            {s.value: k.secret for s, k in keys.items()},
            {s.value: k.fingerprint for s, k in keys.items()},
            holders,
            threshold,
        )
        governance.authorize(
            administrator, project, Operation.ISSUE_KEY,
            objects={"encryption_key_id": escrow.key_id, "threshold": threshold,
                     "holders": [h.user for h in holders],
                     "public": {s.value: k.fingerprint for s, k in keys.items()}},
        )  # fmt: skip
        public = {s: k.public for s, k in keys.items()}
        for scheme, data in public.items():
            write_bytes_atomic(data, out / f"public_{scheme.value}.tenseal")
        escrow.save(out / "escrow.bin")
        packages = seal_shares(shares, escrow, issuer, project, out / "shares")
        del keys, shares  # nothing of the secret stays with the issuer
        return cls(project, params, public, escrow, packages)

    @classmethod
    def load(cls, project: str, out: Path) -> ProjectEncryption:
        """The public keys and escrow written by :meth:`issue` (no share).

        Raises:
            IntegrityError: A public context does not match the escrow's fingerprints.
        """
        from ansim.encrypted._schemes import fingerprint  # noqa: PLC0415 - small helper

        escrow = KeyEscrow.load(out / "escrow.bin")
        expected = dict(escrow.public)
        public = {}
        for scheme in Scheme:
            data = (out / f"public_{scheme.value}.tenseal").read_bytes()
            if fingerprint(data) != expected.get(scheme.value):
                raise IntegrityError(f"public_{scheme.value}.tenseal is not the escrowed key's")
            public[scheme] = data
        return cls(project, {Scheme.CKKS: CKKS, Scheme.BFV: BFV}, public, escrow, {})
