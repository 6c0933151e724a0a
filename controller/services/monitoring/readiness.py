"""Readiness for short lifetimes: what 100-day and 47-day maximum lifetimes will cost.

For every definition: how its certificate is acquired and deployed, and what the 100-day
(March 2027) and 47-day (March 2029) maximum lifetimes of publicly trusted certificates mean in
renewals and manual steps per year.

A renewal costs one manual step when the certificate is acquired by hand (vendor, imported) and one
per deployment that is not delivered by an agent (conventional package, one-click installer).
Private-CA certificates are not bound by the CA/Browser Forum limits; their lifetime stays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, CertificateDefinition, Deployment
from certmgr.controller.domain.renewal import DEFAULT_FRACTION
from certmgr.controller.services.monitoring.daily import AUTOMATIC_ISSUERS

YEAR_DAYS = 365.25
SCENARIOS: tuple[tuple[str, int | None], ...] = (
    ("today", None),
    ("100 days (March 2027)", 100),
    ("47 days (March 2029)", 47),
)
PUBLIC_ISSUERS = frozenset({"acme", "vendor"})
DEFAULT_LIFETIME = {"private-ca": 365.0, "acme": 90.0, "vendor": 200.0}
AUTOMATIC = "automatic end to end"
PARTLY = "partly manual"
MANUAL = "manual"


@dataclass(frozen=True)
class Scenario:
    """Renewals and manual steps per year at one maximum lifetime."""

    label: str
    lifetime_days: float
    renewals_per_year: float
    manual_steps_per_year: float


@dataclass(frozen=True)
class ReadinessRow:
    """One definition."""

    definition_id: int
    name: str
    issuer_kind: str
    acquisition: str  # automatic | manual
    deliveries: dict[str, int]
    mode: str
    manual_steps_per_renewal: int
    scenarios: tuple[Scenario, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON for the API and the CLI."""
        return {
            "definition_id": self.definition_id,
            "name": self.name,
            "issuer": self.issuer_kind,
            "acquisition": self.acquisition,
            "deliveries": self.deliveries,
            "mode": self.mode,
            "manual_steps_per_renewal": self.manual_steps_per_renewal,
            "scenarios": [
                {
                    "label": sc.label,
                    "lifetime_days": round(sc.lifetime_days, 1),
                    "renewals_per_year": round(sc.renewals_per_year, 2),
                    "manual_steps_per_year": round(sc.manual_steps_per_year, 1),
                }
                for sc in self.scenarios
            ],
        }


@dataclass(frozen=True)
class ReadinessReport:
    """Every definition, with totals per scenario and counts per mode."""

    rows: list[ReadinessRow]
    totals: list[Scenario]
    modes: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        """JSON for the API and the CLI."""
        return {
            "definitions": [r.to_json() for r in self.rows],
            "totals": [
                {
                    "label": t.label,
                    "renewals_per_year": round(t.renewals_per_year, 1),
                    "manual_steps_per_year": round(t.manual_steps_per_year, 1),
                }
                for t in self.totals
            ],
            "modes": self.modes,
        }


def renewal_interval_days(lifetime: float, policy: dict[str, Any]) -> float:
    """Days between renewals under the definition's renewal policy (pure)."""
    days = policy.get("days_before")
    if isinstance(days, int) and not isinstance(days, bool) and 0 < days < lifetime:
        return max(1.0, lifetime - days)
    fraction = policy.get("fraction", DEFAULT_FRACTION)
    if not isinstance(fraction, int | float) or not 0 < fraction < 1:
        fraction = DEFAULT_FRACTION
    return max(1.0, lifetime * (1 - float(fraction)))


def classify(issuer_kind: str, deliveries: dict[str, int]) -> tuple[str, str, int]:
    """Acquisition (automatic/manual), mode, and manual steps per renewal (pure)."""
    auto_acq = issuer_kind in AUTOMATIC_ISSUERS
    by_hand = sum(n for how, n in deliveries.items() if how != "agent")
    steps = (0 if auto_acq else 1) + by_hand
    total = sum(deliveries.values())
    if steps == 0:
        mode = AUTOMATIC
    elif not auto_acq and by_hand == total:
        mode = MANUAL
    else:
        mode = PARTLY
    return ("automatic" if auto_acq else "manual"), mode, steps


def scenarios_for(
    issuer_kind: str, lifetime: float, policy: dict[str, Any], steps: int
) -> tuple[Scenario, ...]:
    """Renewals and manual steps per year today and at the two future maximum lifetimes (pure)."""
    out = []
    for label, cap in SCENARIOS:
        life = lifetime if cap is None or issuer_kind not in PUBLIC_ISSUERS else min(lifetime, cap)
        per_year = YEAR_DAYS / renewal_interval_days(life, policy)
        out.append(Scenario(label, life, per_year, per_year * steps))
    return tuple(out)


async def readiness_report(db: Database) -> ReadinessReport:
    """The report over every definition that is not archived (two queries)."""
    async with db.reader() as s:
        defs = await s.execute(
            select(CertificateDefinition, Certificate.not_before, Certificate.not_after)
            .outerjoin(Certificate, Certificate.id == CertificateDefinition.current_certificate_id)
            .where(CertificateDefinition.archived.is_(False))
            .order_by(CertificateDefinition.name)
        )
        rows = list(defs)
        deliveries: dict[int, dict[str, int]] = {}
        for def_id, how in await s.execute(select(Deployment.definition_id, Deployment.delivery)):
            per = deliveries.setdefault(def_id, {})
            per[how] = per.get(how, 0) + 1
    out: list[ReadinessRow] = []
    for d, nb, na in rows:
        lifetime = _lifetime(nb, na) or DEFAULT_LIFETIME.get(d.issuer_kind, 200.0)
        per = deliveries.get(d.id, {})
        acquisition, mode, steps = classify(d.issuer_kind, per)
        out.append(
            ReadinessRow(
                d.id,
                d.name,
                d.issuer_kind,
                acquisition,
                per,
                mode,
                steps,
                scenarios_for(d.issuer_kind, lifetime, d.renewal_policy, steps),
            )
        )
    totals = [
        Scenario(
            label,
            0.0,
            sum(r.scenarios[i].renewals_per_year for r in out),
            sum(r.scenarios[i].manual_steps_per_year for r in out),
        )
        for i, (label, _) in enumerate(SCENARIOS)
    ]
    modes = {m: sum(1 for r in out if r.mode == m) for m in (AUTOMATIC, PARTLY, MANUAL)}
    return ReadinessReport(out, totals, modes)


def _lifetime(nb: dt.datetime | None, na: dt.datetime | None) -> float | None:
    if nb is None or na is None:
        return None
    return max(1.0, (na - nb).total_seconds() / 86400)
