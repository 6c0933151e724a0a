"""Deployment: getting the current certificate onto servers, and proving it is served.

Owns: deployments and their states (``deployments``, ``views``), install packages (``prepare``,
``packages``, ``oneclick``, ``stamping``), install requests by mail and download links
(``install_request``), deploy checks and manual-check codes (``checks``, ``codes``), and closing
a deployment (``closing``; one-click receipts in ``oneclick``).
"""
