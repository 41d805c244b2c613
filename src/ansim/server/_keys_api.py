"""The public keys of a project's receiving parties, for custodians to trust before sealing.

``GET /api/projects/P/parties/keys`` answers the linkage unit's and the hub's ``party.json``
(public encryption and signing keys, with their fingerprints) to the project's members; never
a private key, which stays in each party's key store. ``ansim keys trust --from-server`` fetches
them; comparing the fingerprint with the party out of band (``--fingerprint``) remains the
custodian's check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter

from ansim.errors import InvalidSpecError
from ansim.packages import PartyPublicKeys
from ansim.server._auth import CallerDep, DeploymentDep
from ansim.server._errors import JsonResponse

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)


def _public(path: Path) -> PartyPublicKeys | None:
    if not path.is_file():
        return None
    try:
        return PartyPublicKeys.from_json(path.read_text(encoding="utf-8"))
    except (InvalidSpecError, UnicodeDecodeError):
        return None  # a damaged file is not offered as a key


@router.get("/projects/{project}/parties/keys", summary="The receiving parties' public keys")
async def party_keys(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """The linkage unit's and the hub's public keys and fingerprints (the project's members)."""
    found.visible(caller.user, project)
    caller.within(project)
    places = {
        "linkage_unit": found.home / "linkage_unit" / "keys" / "party.json",
        "hub": found.hub_store(project).parent / "keys" / "party.json",
    }
    parties = []
    for role, path in places.items():
        keys = _public(path)
        if keys is not None:
            parties.append({"role": role, "party": keys.party, "fingerprint": keys.fingerprint,
                            "keys": keys.to_json()})  # fmt: skip
    return {"project": project, "parties": parties}
