"""One rule table: every rule tlsprobe emits is in probe.policy.rules.RULES with its clause and default severity."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

import probe
from probe.lab.paths import DEFAULT_DEFINITION
from probe.models import Severity
from probe.policy import list_profiles, load_profile
from probe.policy import rule_ids as R
from probe.policy.rules import RULES

RULE_ID = re.compile(r"^(tls|cert|vuln|declared|drift|acm|kms|aws)\.[a-z0-9_]+(\.[a-z0-9_]+)*$")
PACKAGE = Path(probe.__file__).parent


def emitted_literals() -> dict[str, str]:
    """Every string constant in the package that looks like a rule id, with where it is."""
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        if "bench" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and RULE_ID.match(node.value):
                found.setdefault(node.value, f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_every_rule_id_written_in_the_code_is_in_the_table() -> None:
    found = emitted_literals()
    assert len(found) >= 30, "the scan found the rule ids at all"
    missing = {rule: where for rule, where in found.items() if rule not in RULES}
    assert missing == {}, f"emitted but not in probe.policy.rules.RULES: {missing}"


def test_every_named_rule_constant_is_in_the_table() -> None:
    constants = {value for name, value in vars(R).items() if name.isupper() and isinstance(value, str)}
    assert constants - set(RULES) == set()
    assert set(R.ALL_RULES) <= set(RULES)


def test_each_rule_has_a_clause_a_severity_and_a_title() -> None:
    for rule_id, spec in RULES.items():
        assert spec.id == rule_id
        assert re.fullmatch(r"OP-POL-001 \d+(\.\d+)+|beyond OP-POL-001", spec.clause), rule_id  # PQ: beyond
        assert isinstance(spec.severity, Severity) and spec.title


def test_declared_twins_carry_the_scanner_rule_clause_and_severity() -> None:
    for rule_id, spec in RULES.items():
        if rule_id.startswith("declared.") and rule_id != R.DECLARED_UNKNOWN_POLICY:
            twin = RULES[rule_id.removeprefix("declared.")]
            assert (spec.clause, spec.severity) == (twin.clause, twin.severity)
    assert "declared.cert.expired" not in RULES  # a declaration has no certificate


def test_the_lab_ground_truth_and_the_profiles_name_only_rules_of_the_table() -> None:
    lab = yaml.safe_load(DEFAULT_DEFINITION.read_text(encoding="utf-8"))
    expected = {f["rule"] for e in lab["endpoints"] for f in (e.get("expect") or {}).get("findings", [])}
    assert expected and expected <= set(RULES)
    for name in list_profiles():
        assert set(load_profile(name).rules) <= set(RULES), name


def test_the_default_profile_agrees_with_the_table_on_clauses() -> None:
    profile = load_profile("op-pol-001")
    for rule_id in profile.rules:
        assert profile.clause(rule_id) == RULES[rule_id].clause, rule_id
