"""JSON shapes of domain rows, shared by the CLI and the REST API."""

from __future__ import annotations

from typing import Any

from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CertificateRequest,
    RequestEvent,
)


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
        "requestor": d.requestor,
        "requirements": {
            "validation": (d.requirements or {}).get("validation"),
            "vendor": (d.requirements or {}).get("vendor") or None,
            "product": d.product_id,
        },
        "renewal_policy": dict(d.renewal_policy or {}),
        "acme_account_id": d.acme_account_id,
        "vendor_account_id": d.vendor_account_id,
        "archived": bool(d.archived),
        "held_certificate_id": d.held_certificate_id,
        "switch_at": d.switch_at.isoformat() if d.switch_at else None,
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


def request_json(r: CertificateRequest) -> dict[str, Any]:
    """A request as the CLI's ``--json`` shows it."""
    return {
        "id": r.id,
        "definition_id": r.definition_id,
        "kind": r.kind,
        "status": r.status,
        "issuer": r.issuer_kind,
        "private_key_id": r.private_key_id,
        "certificate_id": r.certificate_id,
        "order_number": r.order_number,
        "product_id": r.product_id,
        "vendor_account_id": r.vendor_account_id,
        "last_error": r.last_error,
        "attempts": r.attempts,
        "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
        "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    }


def request_api_json(r: CertificateRequest) -> dict[str, Any]:
    """A request as the REST API returns it: the CLI's form with its CSR, without the retry time."""
    out = request_json(r)
    del out["next_attempt_at"]
    out["csr_pem"] = r.csr_pem
    return out


def history_json(events: list[RequestEvent]) -> list[dict[str, Any]]:
    """A request's history as JSON."""
    return [
        {"at": e.at.isoformat(), "actor": e.actor, "event": e.event, "message": e.message}
        for e in events
    ]


def chain_summary_json(chain: list[Certificate]) -> list[dict[str, Any]]:
    """A chain as JSON: id, subject and SHA-256 of each certificate, issuer first."""
    return [{"id": c.id, "subject": c.subject, "sha256": c.sha256} for c in chain]
