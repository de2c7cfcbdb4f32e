"""``from AlgorithmImports import *`` offers every public indicator class the engine defines."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from orchestrator.engine import algorithm_imports, indicators


def _public_indicator_classes() -> dict[str, type]:
    """Every class with a public name defined in a module of the indicators package."""
    found: dict[str, type] = {}
    for module_info in pkgutil.iter_modules(indicators.__path__):
        module = importlib.import_module(f"{indicators.__name__}.{module_info.name}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_"):
                found[name] = value
    return found


def test_the_package_exports_every_public_class_of_its_modules() -> None:
    classes = _public_indicator_classes()
    assert {"WilderMovingAverage", "PythonIndicator", "SimpleMovingAverage"} <= set(classes)
    missing = sorted(set(classes) - set(indicators.__all__))
    assert missing == []


def test_every_public_indicator_class_is_importable_from_algorithm_imports() -> None:
    classes = _public_indicator_classes()
    classes.update({name: getattr(indicators, name) for name in indicators.__all__
                    if inspect.isclass(getattr(indicators, name))})
    missing = sorted(name for name, cls in classes.items() if getattr(algorithm_imports, name, None) is not cls)
    assert missing == []
    exported = set(algorithm_imports.__all__)
    assert set(classes) <= exported


def test_star_import_gives_wilder_and_python_indicator() -> None:
    namespace: dict[str, object] = {}
    exec("from orchestrator.engine.algorithm_imports import *", namespace)
    assert namespace["WilderMovingAverage"] is indicators.WilderMovingAverage
    assert namespace["PythonIndicator"] is indicators.PythonIndicator
    wilder = namespace["WilderMovingAverage"](3)  # type: ignore[operator]
    for value in (1.0, 2.0, 3.0):
        wilder.update(value, value)
    # ready after 3 inputs with the plain mean of the first 3: (1 + 2 + 3) / 3 = 2
    assert wilder.is_ready and wilder.current.value == 2.0
