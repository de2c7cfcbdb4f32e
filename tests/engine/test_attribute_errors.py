"""Unknown attributes of QCAlgorithm and QuantBook: AttributeErrors (hasattr works) that name the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.engine.algorithm import QCAlgorithm
from orchestrator.engine.api_errors import UnsupportedApiAttributeError
from orchestrator.engine.manager import BacktestEngine
from orchestrator.engine.quantbook import QuantBook
from orchestrator.errors import UnsupportedApiError


@pytest.fixture
def algorithm() -> QCAlgorithm:
    algorithm = QCAlgorithm()
    algorithm._qc_attach(BacktestEngine.__new__(BacktestEngine))
    return algorithm


def test_the_combined_error_is_both_kinds() -> None:
    assert issubclass(UnsupportedApiAttributeError, UnsupportedApiError)
    assert issubclass(UnsupportedApiAttributeError, AttributeError)


@pytest.mark.parametrize("name", ["add_forex", "AddForex", "object_store", "ObjectStore", "consolidate"])
def test_unsupported_algorithm_api_is_absent_for_hasattr_and_getattr(algorithm: QCAlgorithm, name: str) -> None:
    assert not hasattr(algorithm, name)
    sentinel = object()
    assert getattr(algorithm, name, sentinel) is sentinel


def test_unsupported_algorithm_api_still_names_the_api(algorithm: QCAlgorithm) -> None:
    with pytest.raises(UnsupportedApiError) as caught:
        algorithm.AddForex("EURUSD")
    assert isinstance(caught.value, AttributeError)
    assert caught.value.api_name == "QCAlgorithm.AddForex"
    assert "'QCAlgorithm.AddForex' is not supported by qcloop's embedded engine" in str(caught.value)
    assert caught.value.name == "AddForex"


def test_a_misspelt_algorithm_attribute_stays_a_plain_attribute_error(algorithm: QCAlgorithm) -> None:
    assert not hasattr(algorithm, "my_typo")
    with pytest.raises(AttributeError, match="no attribute 'my_typo'") as caught:
        _ = algorithm.my_typo
    assert not isinstance(caught.value, UnsupportedApiError)


def test_quantbook_unknown_api_is_absent_for_hasattr_and_getattr(tmp_path: Path) -> None:
    book = QuantBook(tmp_path)
    assert not hasattr(book, "get_fundamental")
    assert getattr(book, "get_fundamental", None) is None
    assert getattr(book, "GetFundamental", 42) == 42
    assert hasattr(book, "history") and hasattr(book, "AddEquity")


def test_quantbook_unknown_api_names_the_missing_quantconnect_api(tmp_path: Path) -> None:
    book = QuantBook(tmp_path)
    with pytest.raises(UnsupportedApiError) as caught:
        book.get_fundamental("IBM")
    assert isinstance(caught.value, AttributeError)
    assert caught.value.api_name == "QuantBook.get_fundamental"
    assert str(caught.value).startswith("'QuantBook.get_fundamental' is not supported by qcloop's embedded engine")
    assert "--platform cloud" in str(caught.value)  # what to do instead
