"""Target specifications: parse `host[:port]`, read target files streaming, validate before scanning.

Files are plain (one target per line, `#` comments), CSV (a header with a `host` column and optional
`port`, `ip`, `sni` columns) or YAML (a small list of strings or mappings). Reading is streaming for
plain and CSV files so that a file of a million lines costs constant memory.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from probe.errors import InputErrors
from probe.models import Target, TargetSource

DEFAULT_PORT = 443
MAX_REPORTED_PROBLEMS = 20
DEFAULT_MAX_CIDR = 256  # addresses one range may expand to when --allow-cidr is given without --max-targets
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class Problem:
    """One invalid entry: where it is and why."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class CidrFound(ValueError):
    """A `host[:port]` spec names a CIDR range: not a target unless the run allows ranges."""

    def __init__(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network, port: int) -> None:
        super().__init__(f"CIDR range {network} is refused (pass --allow-cidr to scan its addresses)")
        self.network = network
        self.port = port


@dataclass(frozen=True)
class CidrEntry:
    """A range of addresses in a targets file or argument, expanded (streaming) only when allowed."""

    location: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int
    sni: str | None
    kind: str


def _network(host: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if "/" not in host:
        return None
    try:
        return ipaddress.ip_network(host, strict=False)
    except ValueError:
        return None


def _check_host(host: str) -> str | None:
    """Return a reason when `host` is neither an IP address nor a valid DNS name."""
    if not host:
        return "empty host"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if "/" in host:
        return f"CIDR range {host!r} is not a target (list the addresses instead)"
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        return f"invalid host name {host!r}"
    return None


def _check_port(text: str) -> int | str:
    if not text.isdigit():
        return f"invalid port {text!r}"
    port = int(text)
    if not 1 <= port <= 65535:
        return f"port {port} out of range 1-65535"
    return port


def split_host_port(spec: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """Split `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address; raise ValueError with a reason."""
    spec = spec.strip()
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise ValueError(f"unclosed '[' in {spec!r}")
        host, rest = spec[1:end], spec[end + 1 :]
        if host and ":" not in host:
            raise ValueError(f"brackets are for IPv6 addresses, got {host!r}")
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected text after ']' in {spec!r}")
        port_text = rest[1:] if rest else str(default_port)
    elif spec.count(":") > 1:
        host, port_text = spec, str(default_port)  # bare IPv6 address, no port
    elif ":" in spec:
        host, port_text = spec.rsplit(":", 1)
    else:
        host, port_text = spec, str(default_port)
    network = _network(host)
    reason = _check_host(host)
    if reason:
        if network is not None and isinstance(port := _check_port(port_text), int):
            raise CidrFound(network, port)
        raise ValueError(reason)
    port = _check_port(port_text)
    if isinstance(port, str):
        raise ValueError(port)
    return host, port


def parse_target(spec: str, *, location: str = "argument", kind: str = "cli", sni: str | None = None) -> Target:
    """Parse one `host[:port]` specification into a Target; raise ValueError with a reason."""
    host, port = split_host_port(spec)
    return Target(host=host, port=port, sni=sni, source=TargetSource(kind=kind, location=location))


def _target_from_fields(
    host: str, port: str | int | None, ip: str | None, sni: str | None, location: str, kind: str
) -> Target | Problem | CidrEntry:
    host = (host or "").strip()
    network = _network(host)
    if network is not None:
        cidr_port: int | str = DEFAULT_PORT if port in (None, "") else _check_port(str(port).strip())
        if isinstance(cidr_port, str):
            return Problem(location, cidr_port)
        return CidrEntry(location, network, cidr_port, (sni or "").strip() or None, kind)
    reason = _check_host(host)
    if reason:
        return Problem(location, reason)
    port_value: int | str = DEFAULT_PORT if port in (None, "") else _check_port(str(port).strip())
    if isinstance(port_value, str):
        return Problem(location, port_value)
    ip = (ip or "").strip() or None
    if ip is not None:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            return Problem(location, f"invalid ip {ip!r}")
    sni = (sni or "").strip() or None
    return Target(host=host, port=port_value, ip=ip, sni=sni, source=TargetSource(kind=kind, location=location))


def _iter_plain(path: Path) -> Iterator[Target | Problem | CidrEntry]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            location = f"{path}:{number}"
            if len(line.split()) > 1:
                yield Problem(location, f"one target per line, got {line[:60]!r}")
                continue
            try:
                yield parse_target(line, location=location, kind="file")
            except CidrFound as found:
                yield CidrEntry(location, found.network, found.port, None, "file")
            except ValueError as exc:
                yield Problem(location, str(exc))


def _iter_csv(path: Path) -> Iterator[Target | Problem | CidrEntry]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.DictReader(line for line in handle if not line.lstrip().startswith("#"))
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        if "host" not in fields:
            yield Problem(f"{path}:1", "CSV header needs a 'host' column")
            return
        for row in reader:
            clean = {(k or "").strip().lower(): (v if isinstance(v, str) else "") for k, v in row.items()}
            location = f"{path}:{reader.line_num}"
            yield _target_from_fields(
                clean.get("host", ""), clean.get("port"), clean.get("ip"), clean.get("sni"), location, "file"
            )


def _iter_yaml(path: Path) -> Iterator[Target | Problem | CidrEntry]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as exc:
        yield Problem(str(path), f"not valid YAML ({str(exc).splitlines()[0]})")
        return
    if isinstance(data, dict) and "targets" in data:
        data = data["targets"]
    if not isinstance(data, list):
        yield Problem(str(path), "YAML targets file must be a list (or a mapping with a 'targets' list)")
        return
    for index, item in enumerate(data, start=1):
        location = f"{path}:item {index}"
        if isinstance(item, str):
            try:
                yield parse_target(item, location=location, kind="file")
            except CidrFound as found:
                yield CidrEntry(location, found.network, found.port, None, "file")
            except ValueError as exc:
                yield Problem(location, str(exc))
        elif isinstance(item, dict):
            host = item.get("host")
            yield _target_from_fields(
                str(host) if host is not None else "",
                item.get("port"),
                str(item["ip"]) if item.get("ip") else None,
                str(item["sni"]) if item.get("sni") else None,
                location,
                "file",
            )
        else:
            yield Problem(location, f"expected a string or a mapping, got {type(item).__name__}")


def iter_file(path: Path) -> Iterator[Target | Problem | CidrEntry]:
    """Stream the entries of a targets file, valid or not, in file order."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        yield from _iter_yaml(path)
    elif suffix == ".csv":
        yield from _iter_csv(path)
    else:
        yield from _iter_plain(path)


def write_csv(
    path: Path, rows: Iterable[Sequence[str | int]], columns: Sequence[str] = ("host", "port", "ip")
) -> Path:
    """Write a targets CSV that `iter_file` reads back: a header of `columns`, then one row per target."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


@dataclass(frozen=True)
class TargetSpec:
    """What the user asked to scan: positional specs and target files."""

    args: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    sni: str | None = None
    allow_cidr: bool = False
    max_targets: int | None = None

    def _raw(self) -> Iterator[Target | Problem | CidrEntry]:
        for index, spec in enumerate(self.args, start=1):
            location = f"argument {index} ({spec[:60]!r})"
            try:
                yield parse_target(spec, location=location, sni=self.sni)
            except CidrFound as found:
                yield CidrEntry(location, found.network, found.port, self.sni, "cli")
            except ValueError as exc:
                yield Problem(f"argument {index}", str(exc))
        for path in self.files:
            yield from iter_file(path)

    def _expand(self, entry: CidrEntry) -> Iterator[Target | Problem]:
        """A range's addresses, one at a time, when --allow-cidr is given and it fits --max-targets."""
        limit = self.max_targets or DEFAULT_MAX_CIDR
        if not self.allow_cidr:
            yield Problem(entry.location, f"CIDR range {entry.network} is refused (pass --allow-cidr to scan it)")
        elif entry.network.num_addresses > limit:
            yield Problem(
                entry.location,
                f"CIDR range {entry.network} has {entry.network.num_addresses} addresses, more than "
                f"--max-targets {limit}",
            )
        else:
            source = TargetSource(kind=entry.kind, location=f"{entry.location} ({entry.network})")
            for address in entry.network.hosts():
                yield Target(host=str(address), port=entry.port, sni=entry.sni, source=source)

    def entries(self) -> Iterator[Target | Problem]:
        """Every entry, valid or not, in order; allowed CIDR ranges expanded streaming."""
        for entry in self._raw():
            if isinstance(entry, CidrEntry):
                yield from self._expand(entry)
                continue
            if isinstance(entry, Target) and self.sni and not entry.sni:
                entry = entry.model_copy(update={"sni": self.sni})
            yield entry

    def validate(self) -> int:
        """Cheap streaming pass over every entry; raise InputErrors listing problems, else return the count."""
        for path in self.files:
            if not path.is_file():
                raise InputErrors([f"{path}: targets file not found"])
        problems: list[str] = []
        count = 0
        extra = 0
        for entry in self.entries():
            if isinstance(entry, Problem):
                if len(problems) < MAX_REPORTED_PROBLEMS:
                    problems.append(str(entry))
                else:
                    extra += 1
            else:
                count += 1
                if self.max_targets is not None and count > self.max_targets:
                    raise InputErrors([f"more than --max-targets {self.max_targets} targets"])
        if problems:
            if extra:
                problems.append(f"... and {extra} more invalid entries")
            raise InputErrors(problems)
        if count == 0:
            raise InputErrors(["no targets given (pass host[:port] arguments or --targets FILE)"])
        return count

    def targets(self) -> Iterator[Target]:
        """The valid targets, streaming (call `validate` first)."""
        for entry in self.entries():
            if isinstance(entry, Target):
                yield entry
