"""Discovery: which endpoints a scan may touch (:mod:`.targets`) and the scan itself (:mod:`.scan`)."""

from certmgr.shared.discovery.results import EndpointResult, Outcome, Timeouts
from certmgr.shared.discovery.scan import scan
from certmgr.shared.discovery.targets import (
    DEFAULT_PORTS,
    Endpoint,
    HostItem,
    Scope,
    SizeReport,
    TargetSpec,
    parse_ports,
    parse_target_lines,
    parse_targets,
    read_target_file,
)

__all__ = [
    "DEFAULT_PORTS",
    "Endpoint",
    "EndpointResult",
    "HostItem",
    "Outcome",
    "Scope",
    "SizeReport",
    "TargetSpec",
    "Timeouts",
    "parse_ports",
    "parse_target_lines",
    "parse_targets",
    "read_target_file",
    "scan",
]
