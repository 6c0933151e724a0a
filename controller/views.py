"""JSON shapes of domain rows, shared by the CLI and the REST API."""

from __future__ import annotations

from typing import Any

from certmgr.controller.db.models import Certificate, CertificateDefinition


def certificate_json(c: Certificate) -> dict[str, Any]:
    """A certificate as JSON (never the key)."""
    return {
        "id": c.id,
        "definition_id": c.definition_id,
        "sha256": c.sha256,
        "sha1": c.sha1,
        "serial": c.serial_hex,
        "subject": c.subject,
        "common_name": c.common_name,
        "issuer": c.issuer,
        "sans": list(c.sans),
        "not_before": c.not_before.isoformat(),
        "not_after": c.not_after.isoformat(),
        "key": c.key_label,
        "has_private_key": c.private_key_id is not None,
        "private_key_id": c.private_key_id,
        "is_ca": c.is_ca,
        "source": c.source,
        "signature_problem": c.signature_problem,
    }


def definition_json(d: CertificateDefinition, current: Certificate | None) -> dict[str, Any]:
    """A definition (with its current certificate's summary) as JSON."""
    return {
        "id": d.id,
        "name": d.name,
        "common_name": d.common_name,
        "sans": list(d.sans),
        "subject": {
            "O": d.organization,
            "OU": d.organizational_unit,
            "L": d.locality,
            "ST": d.state,
            "C": d.country,
        },
        "key_type": d.key_type,
        "issuer": d.issuer_kind,
        "notes": d.notes,
        "current_certificate_id": d.current_certificate_id,
        "current": None
        if current is None
        else {
            "sha256": current.sha256,
            "not_after": current.not_after.isoformat(),
            "serial": current.serial_hex,
        },
        "created_at": d.created_at.isoformat(),
    }
