"""Notification: telling people and tools what happened.

Owns: e-mail (SMTP), alerts for critical findings and the daily digest, install notices to
server administrators, webhooks, and the outbox that retries delivery.
"""
