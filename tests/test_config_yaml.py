"""Reading YAML safely: line numbers for every key, limits against bombs and deep nesting."""

from __future__ import annotations

import pytest
from slugsim.config import TopologyError, parse_yaml
from slugsim.config.yaml_source import MAX_DEPTH


def issue_of(text: str):
    with pytest.raises(TopologyError) as info:
        parse_yaml(text, "t.yaml")
    return info.value.issues[0]


def test_every_key_and_item_keeps_its_line():
    doc = parse_yaml(
        "run: {seed: 3}\n"
        "components:\n"
        "  - name: sw0\n"
        "    params:\n"
        "      latency: 25ns\n"
        "  - {name: mem0}\n",
        "t.yaml",
    )
    assert doc.data["components"][0]["params"]["latency"] == "25ns"
    assert doc.where(("run", "seed")).line == 1
    assert doc.where(("components", 0)).line == 3
    assert doc.where(("components", 0, "params", "latency")).line == 5
    assert doc.where(("components", 1, "name")).line == 6
    # a path the file does not spell out falls back to its closest ancestor
    assert doc.where(("components", 0, "params", "missing", 3)).line == 4
    assert str(doc.where(("components", 1))) == "t.yaml:6"


def test_merge_keys_expand_and_explicit_keys_win():
    doc = parse_yaml(
        "x-base: &b {rate: 16GT/s, width: x8}\nlinks:\n  - {<<: *b, width: x16}\n", "t.yaml"
    )
    assert doc.data["links"][0] == {"rate": "16GT/s", "width": "x16"}
    assert doc.where(("links", 0, "width")).line == 3


def test_duplicate_keys_are_errors_not_silently_dropped():
    issue = issue_of("a: 1\nb: 2\na: 3\n")
    assert issue.where.line == 3 and "'a' appears twice" in issue.message


def test_billion_laughs_is_refused_without_expanding():
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    issue = issue_of("\n".join(rows))  # 10^9 values if expanded: must return at once
    assert "expands to more than" in issue.message


def test_shared_anchors_below_the_limit_are_fine():
    doc = parse_yaml("a: &a [1, 2]\nb: [*a, *a, *a]\n")
    assert doc.data["b"] == [[1, 2]] * 3


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000])
def test_absurd_nesting_is_refused_before_python_recursion(depth):
    issue = issue_of("a: " + "[" * depth + "]" * depth)
    assert "nesting deeper than" in issue.message


def test_nesting_through_aliases_is_measured_after_expansion():
    rows = ["a0: &a0 [[[[[[[[x]]]]]]]]"]
    rows += [f"a{i}: &a{i} [[[[[[[[*a{i - 1}]]]]]]]]" for i in range(1, 6)]
    assert "nesting deeper than" in issue_of("\n".join(rows)).message


def test_recursive_alias():
    assert "refers to the node that contains it" in issue_of("a: &a [1, *a]\n").message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: [1, 2\nb: 3\n", 2, "not valid YAML"),
        ("a: !!python/object:os.system x\n", 1, "no !tags"),
        ("a: 1\n---\nb: 2\n", 2, "one topology per file"),
        ("a:\n\t- 1\n", 2, "tabs"),
        ("a: 1\n\x07\n", 2, "not YAML"),
        ("", 1, "empty"),
        ("# nothing\n", 1, "empty"),
    ],
)
def test_parse_errors_have_lines_and_hints(text, line, words):
    issue = issue_of(text)
    assert issue.where.line == line
    assert words in str(issue)
