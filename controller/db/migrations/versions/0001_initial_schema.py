"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 02:57:54.763736
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_events_entity", ["entity_type", "entity_id"], unique=False)

    op.create_table(
        "certificate_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("common_name", sa.String(length=500), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=False),
        sa.Column("organizational_unit", sa.String(length=200), nullable=False),
        sa.Column("locality", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("sans", sa.JSON(), nullable=False),
        sa.Column("key_type", sa.String(length=30), nullable=False),
        sa.Column("issuer_kind", sa.String(length=20), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("product_id", sa.String(length=100), nullable=True),
        sa.Column("acme_account_id", sa.Integer(), nullable=True),
        sa.Column("requestor", sa.String(length=200), nullable=False),
        sa.Column("renewal_policy", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("current_certificate_id", sa.Integer(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_definitions")),
        sa.UniqueConstraint("name", name=op.f("uq_certificate_definitions_name")),
    )
    op.create_table(
        "private_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=20), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("key_type", sa.String(length=30), nullable=False),
        sa.Column("public_sha256", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=30), nullable=False),
        sa.Column("sealed_pkcs8", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_private_keys")),
        sa.UniqueConstraint("public_sha256", name=op.f("uq_private_keys_public_sha256")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=True),
        sa.Column("private_key_id", sa.Integer(), nullable=True),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("public_key_sha256", sa.String(length=64), nullable=False),
        sa.Column("serial_hex", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=2000), nullable=False),
        sa.Column("common_name", sa.String(length=500), nullable=False),
        sa.Column("issuer", sa.String(length=2000), nullable=False),
        sa.Column("sans", sa.JSON(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_label", sa.String(length=30), nullable=False),
        sa.Column("is_ca", sa.Boolean(), nullable=False),
        sa.Column("self_signed", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["certificate_definitions.id"],
            name=op.f("fk_certificates_definition_id_certificate_definitions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["private_key_id"],
            ["private_keys.id"],
            name=op.f("fk_certificates_private_key_id_private_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("sha256", name=op.f("uq_certificates_sha256")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificates_common_name"), ["common_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_definition_id"), ["definition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_certificates_not_after"), ["not_after"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_certificates_private_key_id"), ["private_key_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_public_key_sha256"), ["public_key_sha256"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_serial_hex"), ["serial_hex"], unique=False
        )
    with op.batch_alter_table("certificate_definitions", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_certificate_definitions_current_certificate_id_certificates"),
            "certificates",
            ["current_certificate_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["certificate_definitions.id"],
            name=op.f("fk_documents_definition_id_certificate_definitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_documents_stored_name")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_documents_definition_id"), ["definition_id"], unique=False
        )

    op.create_table(
        "certificate_authorities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=2000), nullable=False),
        sa.Column("key_type", sa.String(length=30), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("csr_pem", sa.Text(), nullable=False),
        sa.Column("crl_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_authorities_certificate_id_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_authorities")),
    )
    op.create_table(
        "certificate_chain",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ca_certificate_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ca_certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_chain_ca_certificate_id_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_chain_certificate_id_certificates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("certificate_id", "position", name=op.f("pk_certificate_chain")),
    )
    with op.batch_alter_table("certificate_chain", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_chain_ca_certificate_id"),
            ["ca_certificate_id"],
            unique=False,
        )

    op.create_table(
        "certificate_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("issuer_kind", sa.String(length=20), nullable=False),
        sa.Column("private_key_id", sa.Integer(), nullable=True),
        sa.Column("csr_pem", sa.Text(), nullable=False),
        sa.Column("product_id", sa.String(length=100), nullable=True),
        sa.Column("vendor_account_id", sa.Integer(), nullable=True),
        sa.Column("order_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_number", sa.String(length=200), nullable=False),
        sa.Column("tracking_notes", sa.Text(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("replaces_certificate_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_requests_certificate_id_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["certificate_definitions.id"],
            name=op.f("fk_certificate_requests_definition_id_certificate_definitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["private_key_id"],
            ["private_keys.id"],
            name=op.f("fk_certificate_requests_private_key_id_private_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["replaces_certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_requests_replaces_certificate_id_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_requests")),
    )
    with op.batch_alter_table("certificate_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_requests_definition_id"), ["definition_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificate_requests_status"), ["status"], unique=False
        )

    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("common_name", sa.String(length=500), nullable=False),
        sa.Column("server_name", sa.String(length=255), nullable=False),
        sa.Column("check_host", sa.String(length=255), nullable=False),
        sa.Column("check_port", sa.Integer(), nullable=False),
        sa.Column("sni", sa.String(length=255), nullable=False),
        sa.Column("starttls", sa.String(length=10), nullable=False),
        sa.Column("target_type", sa.String(length=30), nullable=False),
        sa.Column("target_params", sa.JSON(), nullable=False),
        sa.Column("delivery", sa.String(length=20), nullable=False),
        sa.Column("admin_email", sa.String(length=254), nullable=False),
        sa.Column("monitoring", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_deployments_certificate_id_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["certificate_definitions.id"],
            name=op.f("fk_deployments_definition_id_certificate_definitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deployments_definition_id"), ["definition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deployments_status"), ["status"], unique=False)

    op.create_table(
        "deployment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=50), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_events_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_events")),
    )
    with op.batch_alter_table("deployment_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deployment_events_deployment_id"), ["deployment_id"], unique=False
        )

    op.create_table(
        "request_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=50), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["certificate_requests.id"],
            name=op.f("fk_request_events_request_id_certificate_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_events")),
    )
    with op.batch_alter_table("request_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_events_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "revocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ca_id", sa.Integer(), nullable=False),
        sa.Column("serial_hex", sa.String(length=64), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["ca_id"],
            ["certificate_authorities.id"],
            name=op.f("fk_revocations_ca_id_certificate_authorities"),
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_revocations_certificate_id_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocations")),
        sa.UniqueConstraint("ca_id", "serial_hex", name=op.f("uq_revocations_ca_id")),
    )
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revocations_ca_id"), ["ca_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certificate_definitions", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_certificate_definitions_current_certificate_id_certificates"),
            type_="foreignkey",
        )

    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revocations_ca_id"))

    op.drop_table("revocations")
    with op.batch_alter_table("request_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_events_request_id"))

    op.drop_table("request_events")
    with op.batch_alter_table("deployment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_events_deployment_id"))

    op.drop_table("deployment_events")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployments_status"))
        batch_op.drop_index(batch_op.f("ix_deployments_definition_id"))

    op.drop_table("deployments")
    with op.batch_alter_table("certificate_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_requests_status"))
        batch_op.drop_index(batch_op.f("ix_certificate_requests_definition_id"))

    op.drop_table("certificate_requests")
    with op.batch_alter_table("certificate_chain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_chain_ca_certificate_id"))

    op.drop_table("certificate_chain")
    op.drop_table("certificate_authorities")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_definition_id"))

    op.drop_table("documents")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_serial_hex"))
        batch_op.drop_index(batch_op.f("ix_certificates_public_key_sha256"))
        batch_op.drop_index(batch_op.f("ix_certificates_private_key_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_not_after"))
        batch_op.drop_index(batch_op.f("ix_certificates_definition_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_common_name"))

    op.drop_table("certificates")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("private_keys")
    op.drop_table("certificate_definitions")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_entity")
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
