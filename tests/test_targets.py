from pathlib import Path

import pytest

from probe.errors import InputErrors
from probe.targets import TargetSpec, parse_target, split_host_port


@pytest.mark.parametrize(
    ("spec", "host", "port"),
    [
        ("api.example.com", "api.example.com", 443),
        ("api.example.com:8443", "api.example.com", 8443),
        ("10.0.0.5:8443", "10.0.0.5", 8443),
        ("[::1]:8443", "::1", 8443),
        ("[2001:db8::1]", "2001:db8::1", 443),
        ("2001:db8::1", "2001:db8::1", 443),
        ("under_score.example.com", "under_score.example.com", 443),
    ],
)
def test_split_host_port_accepts(spec: str, host: str, port: int) -> None:
    assert split_host_port(spec) == (host, port)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "empty host"),
        (":443", "empty host"),
        ("host:0", "out of range"),
        ("host:65536", "out of range"),
        ("host:https", "invalid port"),
        ("bad host", "invalid host name"),
        ("-lead.example.com", "invalid host name"),
        ("[::1", "unclosed"),
        ("[example.com]:443", "IPv6"),
        ("10.0.0.0/24", "CIDR"),
    ],
)
def test_split_host_port_rejects_with_reason(spec: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        split_host_port(spec)


def test_parse_target_records_location_and_sni() -> None:
    target = parse_target("a.example:444", location="x:3", sni="b.example")
    assert (target.host, target.port, target.sni, target.source.location) == ("a.example", 444, "b.example", "x:3")


def test_plain_file_with_comments_and_all_problems_at_once(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("# fleet\napi.example.com\n\nweb.example.com:8443  # edge\nbad host\nx:70000\n[::1]:443\n")
    spec = TargetSpec(files=(path,))
    with pytest.raises(InputErrors) as info:
        spec.validate()
    assert info.value.problems == [
        f"{path}:5: one target per line, got 'bad host'",
        f"{path}:6: port 70000 out of range 1-65535",
    ]


def test_valid_file_streams_targets_in_order(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("a.example\nb.example:8443\n[::1]:9\n")
    spec = TargetSpec(files=(path,))
    assert spec.validate() == 3
    assert [t.key for t in spec.targets()] == ["a.example:443", "b.example:8443", "[::1]:9"]


def test_csv_file_with_ip_and_sni_columns(tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    path.write_text("host,port,ip,sni\nlab.test,8443,127.0.0.9,\nother.test,,,front.test\nbroken,99999,,\n")
    entries = list(TargetSpec(files=(path,)).entries())
    assert entries[0].host == "lab.test" and entries[0].ip == "127.0.0.9" and entries[0].port == 8443  # type: ignore[union-attr]
    assert entries[1].port == 443 and entries[1].sni == "front.test"  # type: ignore[union-attr]
    assert "out of range" in str(entries[2]) and f"{path}:4" in str(entries[2])


def test_csv_without_host_column_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("name,port\nx,1\n")
    with pytest.raises(InputErrors, match="'host' column"):
        TargetSpec(files=(path,)).validate()


def test_yaml_list_of_strings_and_mappings(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("targets:\n  - a.example:8443\n  - {host: b.example, port: 9443, sni: c.example}\n  - 42\n")
    entries = list(TargetSpec(files=(path,)).entries())
    assert entries[0].port == 8443  # type: ignore[union-attr]
    assert entries[1].sni == "c.example"  # type: ignore[union-attr]
    assert "expected a string or a mapping" in str(entries[2])


def test_broken_yaml_and_missing_file_are_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("targets: [unclosed\n")
    with pytest.raises(InputErrors, match="not valid YAML"):
        TargetSpec(files=(path,)).validate()
    with pytest.raises(InputErrors, match="not found"):
        TargetSpec(files=(tmp_path / "missing.txt",)).validate()


def test_no_targets_at_all_is_an_error() -> None:
    with pytest.raises(InputErrors, match="no targets"):
        TargetSpec().validate()


def test_validation_is_streaming_over_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with path.open("w") as handle:
        for i in range(200_000):
            handle.write(f"h{i}.example:{1 + i % 65535}\n")
    assert TargetSpec(files=(path,)).validate() == 200_000
