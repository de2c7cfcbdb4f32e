"""Request field parsing: PHP bracket keys, the merge of three encodings, and type coercion."""

from __future__ import annotations

import json

import pytest

from orchestrator.emulator.errors import InvalidArgumentError
from orchestrator.emulator.params import Params, expand_brackets, merge


def test_bracket_keys_become_lists_of_dicts_in_index_order() -> None:
    # The lean CLI's projects/update form (project_client.py): indexes may arrive in any order.
    pairs = [
        ("projectId", "7"),
        ("parameters[1][key]", "slow"), ("parameters[1][value]", "200"),
        ("parameters[0][key]", "fast"), ("parameters[0][value]", "50"),
        ("files[0][name]", "main.py"), ("files[0][content]", "x = 1\n"),
        ("libraries[0]", "11"), ("libraries[1]", "12"),
    ]
    assert expand_brackets(pairs) == {
        "projectId": "7",
        "parameters": [{"key": "fast", "value": "50"}, {"key": "slow", "value": "200"}],
        "files": [{"name": "main.py", "content": "x = 1\n"}],
        "libraries": ["11", "12"],
    }


def test_bracket_keys_with_names_stay_dicts_and_empty_brackets_append() -> None:
    pairs = [("parameters[fast]", "10"), ("constraints[0][target-value]", "1"), ("keys[]", "a"), ("keys[]", "b")]
    assert expand_brackets(pairs) == {
        "parameters": {"fast": "10"},
        "constraints": [{"target-value": "1"}],
        "keys": ["a", "b"],
    }


def test_json_body_wins_over_form_which_wins_over_query() -> None:
    merged = merge([("a", "query"), ("b", "query")], [("b", "form"), ("c", "form")],
                   json.dumps({"c": "json"}).encode(), is_json=True)
    assert merged == {"a": "query", "b": "form", "c": "json"}


def test_invalid_json_body_is_a_handled_failure() -> None:
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        merge([], [], b"{not json", is_json=True)


@pytest.mark.parametrize(("raw", "expected"), [("123", 123), (123, 123), ("12.0", 12), (7.0, 7)])
def test_integers_are_coerced_from_strings(raw: object, expected: int) -> None:
    assert Params({"projectId": raw}).integer("projectId") == expected


@pytest.mark.parametrize("raw", ["abc", "1.5", True])
def test_non_integers_are_refused_with_the_field_name(raw: object) -> None:
    with pytest.raises(InvalidArgumentError, match="projectId must be an integer"):
        Params({"projectId": raw}).integer("projectId")


def test_required_fields_name_themselves() -> None:
    with pytest.raises(InvalidArgumentError, match="compileId is required"):
        Params({}).text("compileId", required=True)


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("False", False), ("1", True), (False, False)])
def test_flags_accept_the_spellings_forms_send(raw: object, expected: bool) -> None:
    assert Params({"includeStatistics": raw}).flag("includeStatistics") is expected


def test_mappings_and_sequences_accept_form_and_json_shapes() -> None:
    params = Params({"parameters": "", "files": "", "brokerage": '{"id": "QuantConnectBrokerage"}',
                     "keys": {"0": "a"}})
    assert params.mapping("parameters") == {}  # the lean CLI clears parameters with parameters=""
    assert params.sequence("files") == []
    assert params.mapping("brokerage") == {"id": "QuantConnectBrokerage"}
    assert params.sequence("keys") == ["a"]
