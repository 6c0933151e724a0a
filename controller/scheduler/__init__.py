"""Scheduled jobs under database leases (monitoring, renewals, the digest, the outbox)."""
