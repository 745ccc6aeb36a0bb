"""Property: any mutation of a valid stack file gives a Stack or a ConfigError, never anything else,
and an invalid file registers no resource at all."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi import RunError

from components import stackfile
from components.config import Stack
from components.errors import ConfigError
from components.stackfile import decode
from components.validation import load
from conftest import SHIPPED, with_all_secrets
from tooling.evaluate import PROJECT_DIR, Evaluation, evaluate

VALID = [with_all_secrets(stackfile.read(path)).berth for path in SHIPPED]

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False), st.text(max_size=12),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


@st.composite
def mutated_stack(draw):
    raw = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(raw) if p]
        path = draw(st.sampled_from(paths))
        parent = raw
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "unknown-key"]))
        if action == "replace":
            parent[path[-1]] = draw(junk)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(junk)
    return raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_stack())
def test_mutations_give_a_stack_or_a_config_error(raw):
    try:
        assert isinstance(load(raw), Stack)
    except ConfigError as error:
        assert error.problems and all(str(p).startswith("berth") for p in error.problems)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_stack())
def test_invalid_stack_registers_nothing(raw):
    # Judge the file as the program sees it: the engine passes top-level scalars as text (false -> "false").
    engine = {key.removeprefix("berth:"): value for key, value in stackfile.StackFile("m", raw).engine_config().items()}
    try:
        load(decode(engine))
    except ConfigError:
        record = Evaluation("mutant")
        try:
            evaluate(stackfile.StackFile("mutant", raw), record=record)
        except RunError:  # the program's ConfigError, reported without a traceback
            pass
        else:
            raise AssertionError("the program accepted what load() refused")
        assert record.resources == []


def test_broken_production_registers_nothing():
    raw = copy.deepcopy(VALID[0])
    raw["proxy"] = {"hosts": ["Not A Host"]}
    record = Evaluation("broken")
    try:
        evaluate(stackfile.StackFile("broken", raw), record=record)
    except RunError as error:
        assert "berth:proxy.hosts[0]" in str(error)
    assert record.resources == []
    assert (PROJECT_DIR / "__main__.py").exists()
