"""Deployment: getting the current certificate onto servers, and proving it is served.

Owns: deployments and their states, install packages (conventional, protected, one-click),
install requests by mail, deploy checks, manual-check codes and receipts.
"""
