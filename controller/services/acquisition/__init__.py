"""Acquisition: how certificates are obtained.

Owns: certificate definitions, requests (new and renewal), the issuers' orchestration
(private CA, ACME, vendor orders), renewals, bulk clone and issuer change, the product catalogue and
vendor and ACME accounts.
"""
