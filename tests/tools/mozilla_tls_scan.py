"""Scan one TLS server with sslyze and check it against Mozilla's "intermediate" profile.

Runs in its own virtualenv (``.venv-sslyze``, made by ``scripts/bootstrap test``): sslyze pins
``cryptography<47`` while certmgr locks a newer one. Usage::

    python mozilla_tls_scan.py HOST IP PORT CA_FILE

Prints one JSON object: ``{"issues": {...}, "curves": [...], "tls12_ciphers": [...]}``; an empty
``issues`` means compliant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sslyze import (
    CertificateInfoExtraArgument,
    ScanCommandsExtraArguments,
    Scanner,
    ServerNetworkLocation,
    ServerScanRequest,
)
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)


def main(host: str, ip: str, port: int, ca_file: Path) -> dict[str, object]:
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(hostname=host, port=port, ip_address=ip),
        scan_commands=SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
        scan_commands_extra_arguments=ScanCommandsExtraArguments(
            certificate_info=CertificateInfoExtraArgument(custom_ca_file=ca_file)
        ),
    )
    scanner = Scanner()
    scanner.queue_scans([request])
    result = next(iter(scanner.get_results()))
    report: dict[str, object] = {"issues": {}, "curves": [], "tls12_ciphers": []}
    if result.scan_result is None:
        report["issues"] = {"connectivity": str(result.connectivity_error_trace)[-500:]}
        return report
    curves = result.scan_result.elliptic_curves.result
    if curves is not None:
        report["curves"] = sorted(c.name for c in curves.supported_curves or ())
    tls12 = result.scan_result.tls_1_2_cipher_suites.result
    if tls12 is not None:
        report["tls12_ciphers"] = sorted(a.cipher_suite.name for a in tls12.accepted_cipher_suites)
    try:
        check_server_against_tls_configuration(
            result, MozillaTlsConfiguration.get(TlsConfigurationEnum.MOZILLA_INTERMEDIATE)
        )
    except ServerNotCompliantWithTlsConfiguration as err:
        report["issues"] = err.issues
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
