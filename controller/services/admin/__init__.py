"""Administration: who may do what, and the controller's own settings.

Owns: users and sign-in, console sessions, API tokens, settings kept in the database,
IP allow-list refusals and master-key rotation.
"""
