"""Sightings back to the feed: the hits a live engine counted (``Engine.sightings``) as
STIX 2.1 Sighting objects or MISP sightings.

A STIX Sighting names the indicator it saw (``sighting_of_ref``), so only records whose
``ref`` is a STIX indicator id become one; the sensor is a STIX Identity
(``where_sighted_refs``), made with a stable id from its name so that every batch names
the same sensor. MISP sightings have no count: each record seen gives one sighting at
its last time, by attribute uuid when the record has one, else by value.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

#: The namespace of the sensors' identity ids (uuid5 of the sensor's name).
_SENSORS = uuid.UUID("7d1f1c3e-8f3b-5b7a-9a52-6f1d3c1e2b40")


def _stix_time(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def sensor_identity(name: str) -> dict[str, Any]:
    """The STIX Identity of the sensor ``name``: the same id for the same name."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid.uuid5(_SENSORS, name)}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": name,
        "identity_class": "system",
    }


def to_stix(
    sightings: Iterable[dict[str, Any]], *, sensor: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """STIX 2.1 objects for ``sightings`` (as ``Engine.sightings`` gives them): the
    sensor's Identity, then a Sighting per record with a STIX indicator ``ref``; an empty
    list when there is none."""
    created = _stix_time(now or datetime.now(timezone.utc))
    identity = sensor_identity(sensor)
    out = [
        {
            "type": "sighting",
            "spec_version": "2.1",
            "id": f"sighting--{uuid.uuid4()}",
            "created": created,
            "modified": created,
            "sighting_of_ref": s["ref"],
            "count": int(s["count"]),
            "first_seen": _stix_time(s["first_seen"]),
            "last_seen": _stix_time(s["last_seen"]),
            "where_sighted_refs": [identity["id"]],
        }
        for s in sightings
        if str(s.get("ref") or "").startswith("indicator--") and s["count"] > 0
    ]
    return [identity, *out] if out else []


def to_misp(sightings: Iterable[dict[str, Any]], *, source: str) -> list[dict[str, Any]]:
    """MISP sightings (the body entries of ``/sightings/add``) for ``sightings``."""
    out = []
    for s in sightings:
        if s["count"] <= 0:
            continue
        entry: dict[str, Any] = {
            "type": "0",
            "source": source,
            "timestamp": str(int(s["last_seen"].timestamp())),
        }
        ref = str(s.get("ref") or "")
        try:
            entry["uuid"] = str(uuid.UUID(ref))
        except ValueError:
            entry["value"] = s["value"]
        out.append(entry)
    return out
