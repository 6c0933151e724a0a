"""Target specifications, port lists and the scope allow-list: good input, bad input, hostile input."""

from __future__ import annotations

import ipaddress
import itertools
import re
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certmgr.shared.discovery.targets import (
    DEFAULT_PORTS,
    Scope,
    parse_ports,
    parse_target_lines,
    parse_targets,
    read_target_file,
)
from certmgr.shared.errors import InputError, InputTooLargeError, ValidationError


def pairs(text: str, ports: str = "443") -> list[tuple[str, int]]:
    return [(e.host, e.port) for e in parse_targets(text, ports)]


def test_every_kind_of_target() -> None:
    spec = parse_targets(
        "mail.Example.com. 10.0.0.1 2001:db8::1 10.0.0.8/30 10.0.0.5-7 10.0.1.1-10.0.1.2 "
        "[2001:db8::2]:8443 web-01.example.com:25 2001:db8::fe-ff",
        "443",
    )
    assert [i.kind for i in spec.items] == [
        "name", "address", "address", "network", "range", "range", "address", "name", "range"
    ]  # fmt: skip
    assert list(itertools.islice((e.host for e in spec), 13)) == [
        "mail.example.com", "10.0.0.1", "2001:db8::1", "10.0.0.8", "10.0.0.9", "10.0.0.10",
        "10.0.0.11", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.1.1", "10.0.1.2", "2001:db8::2",
    ]  # fmt: skip
    ends = [(e.host, e.port) for e in spec][-3:]
    assert ends == [("web-01.example.com", 25), ("2001:db8::fe", 443), ("2001:db8::ff", 443)]
    assert spec.count() == len(list(spec)) == 1 + 1 + 1 + 4 + 3 + 2 + 1 + 1 + 2


def test_ports_vary_slowest_within_an_item() -> None:
    assert pairs("10.0.0.1-2", "443,25") == [
        ("10.0.0.1", 443), ("10.0.0.2", 443), ("10.0.0.1", 25), ("10.0.0.2", 25)
    ]  # fmt: skip


def test_ports_lists_ranges_and_default() -> None:
    assert parse_ports("443, 8443,9000-9002;443") == (443, 8443, 9000, 9001, 9002)
    assert parse_ports(None) == DEFAULT_PORTS
    assert set(DEFAULT_PORTS) >= {
        443,
        8443,
        4443,
        9443,
        636,
        993,
        995,
        465,
        25,
        587,
        143,
        110,
        21,
        389,
        5432,
    }
    assert parse_ports([25, 25, 443]) == (25, 443)
    assert len(parse_ports("1-65535")) == 65535


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0", "port 0 is out of range"),
        ("70000", "port 70000 is out of range"),
        ("443-80", "reversed"),
        ("https", "not a port"),
        ("1--2", "not a port"),
        ("", "no ports"),
        ("99999999999999999999", "not a port"),
    ],
)
def test_bad_ports_name_the_token(text: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        parse_ports(text)
    assert info.value.field == "ports"


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("10.0.0.300", "'10.0.0.300': 10.0.0.300 is not a valid IPv4 address"),
        ("10.0.0.0/33", "'10.0.0.0/33': /33 is not a prefix length"),
        ("2001:db8::/129", "/129 is not a prefix length"),
        ("10.0.0.40-10.0.0.5", "reversed"),
        ("10.0.0.40-5", "reversed"),
        ("10.0.0.5-300", "300 is out of range"),
        ("10.0.0.1-2001:db8::1", "cannot mix IPv4 and IPv6"),
        ("2001:db8::/64", "names 18446744073709551616 addresses"),
        ("::/0", "one item may name at most"),
        ("10.0.0.0/7", "one item may name at most"),
        ("1.2.3", "is not a valid IPv4 address"),
        ("bad_host!.example", "not a host name"),
        ("-lead.example.com", "not a host name"),
        ("a" * 64 + ".example", "not a host name"),
        ("host:0", "port 0 is out of range"),
        ("host:70000", "port 70000 is out of range"),
        ("[2001:db8::1]x", "must be ':PORT'"),
        ("[nonsense]", "not a valid IPv6 address"),
        ("x" * 400, "longer than 300"),
        ("2001:db8::zz", "not a valid IPv6 address"),
    ],
)
def test_bad_targets_name_the_token(token: str, words: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(words)) as info:
        parse_targets(["ok.example.com", token])
    assert info.value.field == "targets"
    assert token[:20] in str(info.value)


def test_a_slash_8_is_allowed_and_counted_without_expanding() -> None:
    tracemalloc.start()
    spec = parse_targets("10.0.0.0/8 2001:db8::/104", None)
    count = spec.count()
    report = spec.size_report(65536)
    first = list(itertools.islice(spec, 3))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 2 * 2**24 * len(DEFAULT_PORTS)
    assert report.over and report.excess == count - 65536
    assert [e.host for e in first] == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]
    assert peak < 1_000_000  # nothing was materialised


def test_size_report_within_limit() -> None:
    report = parse_targets("10.0.0.0/24", "443,8443").size_report(512)
    assert report.count == 512 and not report.over and report.excess == 0


def test_files_comments_blanks(tmp_path: Path) -> None:
    f = tmp_path / "targets.txt"
    f.write_text("# web\n\nwww.example.com  # main site\n10.0.0.0/30, 10.0.1.1\n   \n")
    assert read_target_file(f) == ["www.example.com", "10.0.0.0/30", "10.0.1.1"]
    assert parse_targets(read_target_file(f), "443").count() == 6
    f.write_bytes(b"\xff\xfe bad")
    with pytest.raises(ValidationError, match="not UTF-8"):
        read_target_file(f)
    with pytest.raises(ValidationError, match="cannot read"):
        read_target_file(tmp_path / "missing.txt")
    with pytest.raises(InputTooLargeError):
        parse_target_lines("a\n" * 3_000_000)


def test_limits_on_counts() -> None:
    with pytest.raises(InputTooLargeError):
        parse_targets(["10.0.0.1"] * 100_001)
    with pytest.raises(ValidationError, match="no targets"):
        parse_targets("  # nothing\n")


def test_scope_networks_and_names() -> None:
    scope = Scope.parse("127.0.0.0/29, 10.0.0.0/24 10.0.1.0/24 ::1 *.example.com host.test")
    ip = ipaddress.ip_address
    assert scope.allows_address(ip("127.0.0.7")) and not scope.allows_address(ip("127.0.0.8"))
    assert scope.allows_address(ip("::1")) and not scope.allows_address(ip("::2"))
    assert scope.overlap(ip("10.0.0.250"), ip("10.0.1.5")) == "all"  # adjacent networks merge
    assert scope.overlap(ip("10.0.1.250"), ip("10.0.2.5")) == "some"
    assert scope.overlap(ip("9.255.255.0"), ip("10.0.0.0")) == "some"
    assert scope.overlap(ip("11.0.0.0"), ip("11.0.0.9")) == "none"
    assert scope.allows_name("a.b.EXAMPLE.com.") and scope.allows_name("host.test")
    assert not scope.allows_name("example.com.evil") and not scope.allows_name("other.test")
    assert Scope.parse("10.0.0.0/8").allows_name("anything.test")  # the addresses decide


@pytest.mark.parametrize(
    "entry", ["10.0.0.0/33", "10.0.0.300", "2001:db8::zz", "*.bad_name!", "a/b"]
)
def test_bad_scope_entries(entry: str) -> None:
    with pytest.raises(ValidationError) as info:
        Scope.parse(["10.0.0.0/8", entry])
    assert info.value.field == "scope"


# --- property tests: any input either parses into a consistent spec or fails as input --------------
@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=80))
def test_any_text_parses_or_is_an_input_error(text: str) -> None:
    try:
        spec = parse_targets(text, "443")
    except InputError:
        return
    assert spec.count() >= len(spec.items) >= 1
    head = list(itertools.islice(spec, 50))
    assert head and all(0 < e.port < 65536 for e in head)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet="0123456789,- ;", max_size=40))
def test_any_port_text_parses_or_is_an_input_error(text: str) -> None:
    try:
        ports = parse_ports(text)
    except ValidationError:
        return
    assert ports and all(0 < p < 65536 for p in ports) and len(set(ports)) == len(ports)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.ip_addresses(v=4),
    st.integers(min_value=0, max_value=300),
    st.sampled_from(["range", "cidr"]),
    st.integers(min_value=22, max_value=32),
)
def test_counts_match_expansion(
    start: ipaddress.IPv4Address, width: int, form: str, prefix: int
) -> None:
    if form == "range":
        end = ipaddress.IPv4Address(min(int(start) + width, 2**32 - 1))
        text = f"{start}-{end}"
    else:
        text = f"{start}/{prefix}"
    spec = parse_targets(text, "443,8443")
    assert spec.count() == sum(1 for _ in spec)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(
        st.builds(
            lambda a, p: ipaddress.ip_network(f"{a}/{p}", strict=False),
            st.ip_addresses(v=4),
            st.integers(min_value=16, max_value=32),
        ),
        min_size=1,
        max_size=5,
    ),
    st.ip_addresses(v=4),
    st.integers(min_value=0, max_value=2000),
)
def test_scope_overlap_agrees_with_brute_force(
    networks: list[ipaddress.IPv4Network], first: ipaddress.IPv4Address, width: int
) -> None:
    scope = Scope(tuple(networks))
    last = ipaddress.IPv4Address(min(int(first) + width, 2**32 - 1))
    inside = [
        any(ipaddress.IPv4Address(a) in n for n in networks)
        for a in range(int(first), int(last) + 1)
    ]
    expected = "all" if all(inside) else "some" if any(inside) else "none"
    assert scope.overlap(first, last) == expected
