"""Monitoring: what is served where, and what needs action.

Owns: scheduled checks of every monitored deployment, findings, the daily screens,
readiness for short lifetimes and the numbers behind /metrics.
"""
