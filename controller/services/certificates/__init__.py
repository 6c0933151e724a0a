"""The repository: certificates, chains, keys and documents.

Owns: certificates with their chains, private keys, imports (with the upload preview),
per-definition documents, key export and the audit record of every key release.
"""
