"""Rules for the whole test run: the `live` marker, set automatically, and a guard for the unit run.

A test is `live` when it starts a server: lab TLS servers, moto, a webhook or DNS receiver, a
socket server of its own, or the CLI as a subprocess. `pytest -m "not live"` is then the quick unit run and
`pytest -m live` the rest; every test is in exactly one of the two.

The marker is set at collection, from the code: a test is live when the test function, one of its fixtures
(with the fixtures those use) or a helper they call that is defined under tests/ (functions, classes,
context managers, nested functions) refers to

- a socket-server call: `.listen`, `.bind`, `create_server`, `serve_forever`, `start_server`, ...;
- a helper that starts servers or processes (`STARTERS`: the lab, the hostile lab, moto, the bench beds);
- a CLI command that starts servers (`SERVER_COMMANDS`: `lab up`, `bench tls|kms|scan`) on its typer app;
- `sys.executable` with `"-m"`: a Python module run as a subprocess (`python -m probe scan ...`).

What the rule cannot see (a server started by code outside tests/ that is not in `STARTERS`, say) needs an
explicit `@pytest.mark.live` or a module's `pytestmark = pytest.mark.live`. When live tests are deselected
(`-m "not live"`), a guard fails any test that still opens a listening or bound socket, or spawns a server
or CLI process, and says to mark it.
"""

from __future__ import annotations

import inspect
import os
import socket
import subprocess
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

LIVE = "live"

# Attribute or function names that only a server uses.
SOCKET_SERVER_NAMES = frozenset({
    "listen", "bind", "create_server", "serve_forever", "start_server", "start_unix_server",
    "create_datagram_endpoint", "ThreadingHTTPServer", "HTTPServer", "ThreadingTCPServer", "TCPServer",
    "ThreadingUDPServer", "UDPServer", "DNSServer",
})

# Helpers outside tests/ that start servers or processes, as "module-suffix.qualified-name".
STARTERS = frozenset({
    "lab.manager.running_lab", "lab.manager.start_lab", "lab.manager.start_endpoints",  # lab TLS servers
    "lab.cloud_servers.serve_fleet", "lab.cloud_servers.serving_fleet",  # lab servers for the emulated cloud
    "lab.hostile.running_hostile_lab",  # misbehaving servers
    "lab.cloud.start_cloud", "lab.cloud.FaultProxy", "lab.cloud_control.start_cloud_daemon",  # moto
    "ThreadedMotoServer",
    "bench.kms_suite.kms_bed", "bench.tls_suite.servers", "bench.proxy.ThreadedProxy",
    "bench.scan_bench.network_floor_s",
    "bench.scale.run_scale",  # the scale benchmark's lab fleet, proxies and scans
    "cluster.client.open_cluster", "cluster.client.cluster_session",  # a Dask LocalCluster (--cluster local:N)
})

# CLI commands that start servers, by the typer app they are invoked on (CliRunner().invoke(app, [...])).
SERVER_COMMANDS = {"probe.cli.lab": frozenset({"up"}), "probe.cli.bench": frozenset({"tls", "kms", "scan", "scale"})}

_TESTS_PACKAGE = __name__.rpartition(".")[0] or "tests"  # "tests"


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '') or ''}.{getattr(obj, '__qualname__', '') or ''}"


def _is_starter(obj: object) -> bool:
    name = _qualified(obj)
    return any(name == s or name.endswith("." + s) for s in STARTERS)


def _in_tests(obj: object) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == _TESTS_PACKAGE or module.startswith(_TESTS_PACKAGE + ".")


def _strings(consts: tuple[Any, ...]) -> set[str]:
    found: set[str] = set()
    for const in consts:
        if isinstance(const, str):
            found.add(const)
        elif isinstance(const, (tuple, frozenset)):
            found |= _strings(tuple(const))
    return found


def _server_command(app: object, consts: tuple[Any, ...]) -> str | None:
    """`lab up`, `bench tls` ... when `app` is the typer app of a command that starts servers."""
    if type(app).__name__ != "Typer":
        return None
    strings = _strings(consts)
    for name, commands in SERVER_COMMANDS.items():
        module = sys.modules.get(name)
        group = name.rpartition(".")[2]
        if module is None:
            continue
        if getattr(module, "app", None) is app and strings & commands:
            return f"{group} {min(strings & commands)}"
        main = sys.modules.get("probe.cli.main")
        if main is not None and getattr(main, "app", None) is app and group in strings and strings & commands:
            return f"{group} {min(strings & commands)}"
    return None


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _functions(obj: object) -> Iterator[types.FunctionType]:
    """The plain functions behind a test, fixture, helper or class (methods, properties, wrapped functions)."""
    inner = getattr(getattr(obj, "hypothesis", None), "inner_test", None)  # @given
    if inner is not None:
        obj = inner
    if isinstance(obj, type):
        for member in vars(obj).values():
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property):
                yield from (f for f in (member.fget, member.fset) if isinstance(f, types.FunctionType))
            elif isinstance(member, types.FunctionType):
                yield inspect.unwrap(member)
        return
    if callable(obj):
        try:
            obj = inspect.unwrap(obj)
        except ValueError:
            return
    if isinstance(obj, types.FunctionType):
        yield obj


class LiveRule:
    """Why a function (and what it reaches under tests/) starts servers, or None; cached per object."""

    def __init__(self) -> None:
        self._seen: dict[int, str | None] = {}

    def reason(self, obj: object) -> str | None:
        key = id(obj)
        if key in self._seen:
            return self._seen[key]
        self._seen[key] = None  # recursion guard
        found = None
        for function in _functions(obj):
            found = self._function_reason(function)
            if found:
                break
        self._seen[key] = found
        return found

    def _function_reason(self, function: types.FunctionType) -> str | None:
        where = function.__qualname__
        scope = function.__globals__
        for code in _codes(function.__code__):
            names = set(code.co_names)
            server = names & SOCKET_SERVER_NAMES
            if server:
                return f"{where} calls {sorted(server)[0]}"
            if "-m" in code.co_consts and "executable" in names:
                return f"{where} runs `python -m` as a subprocess"
            for name in names:
                target = scope.get(name)
                if target is None:
                    continue
                candidates = [target]
                if isinstance(target, types.ModuleType):  # module.attribute
                    candidates = [getattr(target, other, None) for other in names]
                for candidate in candidates:
                    if candidate is None or candidate is function:
                        continue
                    if _is_starter(candidate):
                        return f"{where} uses {_qualified(candidate).lstrip('.')}"
                    command = _server_command(candidate, code.co_consts)
                    if command:
                        return f"{where} runs `tlsprobe {command}`"
                    if _in_tests(candidate) and not isinstance(candidate, types.ModuleType):
                        deeper = self.reason(candidate)
                        if deeper:
                            return deeper
        return None


def _fixture_functions(item: pytest.Item) -> Iterable[tuple[str, object]]:
    info = getattr(item, "_fixtureinfo", None)
    definitions = getattr(info, "name2fixturedefs", {}) or {}
    for name in getattr(item, "fixturenames", ()):
        for definition in definitions.get(name, ()):
            yield name, definition.func


def live_reason(item: pytest.Item, rule: LiveRule) -> str | None:
    """Why `item` is a live test, or None."""
    function = getattr(item, "function", None)
    if function is not None:
        found = rule.reason(function)
        if found:
            return found
    for name, func in _fixture_functions(item):
        found = rule.reason(func)
        if found:
            return f"fixture {name}: {found}"
    return None


@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rule = LiveRule()
    for item in items:
        if item.get_closest_marker(LIVE) is None and live_reason(item, rule):
            item.add_marker(LIVE)


# ------------------------------------------------------------------------------------------------- the guard

_GUARD: dict[str, Any] = {"active": False, "pid": 0, "item": None, "violations": {}}
_SERVER_MODULES = ("probe", "bench", "moto")
_SERVER_PROGRAMS = frozenset({"nginx", "tlsprobe", "moto_server"})


def _live_excluded(config: pytest.Config) -> bool:
    expression = " ".join((config.getoption("markexpr", "") or "").split())
    return "not live" in expression or "not (live" in expression


def pytest_deselected(items: list[pytest.Item]) -> None:
    """`-m` deselected live tests (an expression other than plain "not live", say): guard the rest."""
    if any(item.get_closest_marker(LIVE) is not None for item in items):
        config = items[0].config
        _GUARD["active"] = _GUARD["active"] or LIVE in (config.getoption("markexpr", "") or "")


def _violation(what: str) -> None:
    if not _GUARD["active"] or os.getpid() != _GUARD["pid"]:
        return
    item = _GUARD["item"]
    if item is None or item.get_closest_marker(LIVE) is not None:
        return
    message = (f"{item.nodeid} {what} in a unit run (-m 'not live'): mark it @pytest.mark.live "
               f"or teach tests/conftest.py's rule to see it")
    _GUARD["violations"].setdefault(item.nodeid, []).append(message)
    raise RuntimeError(message)


def _server_process(args: object) -> str | None:
    argv = [os.fspath(a) for a in args] if isinstance(args, (list, tuple)) else [os.fspath(args)]  # type: ignore[arg-type]
    if not argv:
        return None
    if os.path.basename(argv[0]) in _SERVER_PROGRAMS or ("s_server" in argv and "openssl" in argv[0]):
        return " ".join(argv[:3])
    if "-m" in argv[:-1]:
        module = argv[argv.index("-m") + 1]
        if module.split(".")[0] in _SERVER_MODULES:
            return f"python -m {module}"
    return None


def _install_guard() -> None:
    _GUARD["pid"] = os.getpid()
    listen, bind, popen_init = socket.socket.listen, socket.socket.bind, subprocess.Popen.__init__

    def guarded_listen(self: socket.socket, *args: Any) -> None:
        _violation(f"listens on {self.getsockname()}")
        listen(self, *args)

    def guarded_bind(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _violation(f"binds {address}")
        bind(self, address)

    def guarded_popen(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        started = _server_process(args)
        if started:
            _violation(f"starts {started}")
        popen_init(self, args, *rest, **kwargs)

    socket.socket.listen = guarded_listen  # type: ignore[method-assign]
    socket.socket.bind = guarded_bind  # type: ignore[method-assign]
    subprocess.Popen.__init__ = guarded_popen  # type: ignore[method-assign]


def pytest_collection_finish(session: pytest.Session) -> None:
    if _live_excluded(session.config):
        _GUARD["active"] = True
    if _GUARD["active"]:
        _install_guard()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _GUARD["item"] = item
    try:
        return (yield)
    finally:
        _GUARD["item"] = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    problems = _GUARD["violations"].pop(item.nodeid, None)
    if problems and report.passed:  # the server started in a thread, or the guard's error was caught
        report.outcome = "failed"
        report.longrepr = "\n".join(dict.fromkeys(problems))
    return report


@pytest.fixture(autouse=True, scope="session")
def _private_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A CLI run without --db writes the user's history database: in tests, a temporary one, never ~/.local."""
    previous = os.environ.get("TLSPROBE_DB")
    os.environ["TLSPROBE_DB"] = str(tmp_path_factory.mktemp("history") / "history.db")
    yield
    if previous is None:
        os.environ.pop("TLSPROBE_DB", None)
    else:
        os.environ["TLSPROBE_DB"] = previous
