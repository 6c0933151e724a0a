"""discovery scans, endpoints, certificates found and verdicts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "discovery_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("ports", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("probed", sa.Integer(), nullable=False),
        sa.Column("open_endpoints", sa.Integer(), nullable=False),
        sa.Column("certificates", sa.Integer(), nullable=False),
        sa.Column("critical", sa.Integer(), nullable=False),
        sa.Column("warning", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovery_scans")),
    )
    with op.batch_alter_table("discovery_scans", schema=None) as batch_op:
        batch_op.create_index("ix_discovery_scans_state", ["state", "id"], unique=False)

    op.create_table(
        "discovered_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("chain_pem", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=2000), nullable=False),
        sa.Column("common_name", sa.String(length=500), nullable=False),
        sa.Column("issuer", sa.String(length=2000), nullable=False),
        sa.Column("sans", sa.JSON(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_label", sa.String(length=30), nullable=False),
        sa.Column("self_signed", sa.Boolean(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_discovered_certificates_certificate_id_certificates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovered_certificates")),
        sa.UniqueConstraint("sha256", name=op.f("uq_discovered_certificates_sha256")),
    )
    with op.batch_alter_table("discovered_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discovered_certificates_certificate_id"),
            ["certificate_id"],
            unique=False,
        )

    op.create_table(
        "discovered_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("sni", sa.String(length=255), nullable=False),
        sa.Column("starttls", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("protocol", sa.String(length=20), nullable=False),
        sa.Column("cipher", sa.String(length=100), nullable=False),
        sa.Column("connect_ms", sa.Float(), nullable=True),
        sa.Column("starttls_ms", sa.Float(), nullable=True),
        sa.Column("handshake_ms", sa.Float(), nullable=True),
        sa.Column("total_ms", sa.Float(), nullable=True),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("violations", sa.JSON(), nullable=False),
        sa.Column("match", sa.String(length=20), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["discovered_certificates.id"],
            name=op.f("fk_discovered_endpoints_certificate_id_discovered_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["certificate_definitions.id"],
            name=op.f("fk_discovered_endpoints_definition_id_certificate_definitions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_discovered_endpoints_deployment_id_deployments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["discovery_scans.id"],
            name=op.f("fk_discovered_endpoints_scan_id_discovery_scans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovered_endpoints")),
    )
    with op.batch_alter_table("discovered_endpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discovered_endpoints_certificate_id"), ["certificate_id"], unique=False
        )
        batch_op.create_index("ix_discovered_endpoints_place", ["address", "port"], unique=False)
        batch_op.create_index("ix_discovered_endpoints_scan", ["scan_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_discovered_endpoints_sha256"), ["sha256"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("discovered_endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discovered_endpoints_sha256"))
        batch_op.drop_index("ix_discovered_endpoints_scan")
        batch_op.drop_index("ix_discovered_endpoints_place")
        batch_op.drop_index(batch_op.f("ix_discovered_endpoints_certificate_id"))

    op.drop_table("discovered_endpoints")
    with op.batch_alter_table("discovered_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discovered_certificates_certificate_id"))

    op.drop_table("discovered_certificates")
    with op.batch_alter_table("discovery_scans", schema=None) as batch_op:
        batch_op.drop_index("ix_discovery_scans_state")

    op.drop_table("discovery_scans")
