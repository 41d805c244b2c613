"""Each package's public API is exactly its ``__all__``, and every listed name exists."""

import importlib
import pkgutil

import pytest

import ansim

PACKAGES = sorted(
    m.name
    for m in pkgutil.walk_packages(ansim.__path__, "ansim.")
    if not any(part.startswith("_") for part in m.name.split("."))
)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_existing_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(set(exported)) == len(exported)
    for member in exported:
        assert not member.startswith("_"), f"{name} exports private {member}"
        assert hasattr(module, member), f"{name}.__all__ lists missing {member}"


@pytest.mark.parametrize("name", [p for p in PACKAGES if "." in p])
def test_public_classes_and_functions_are_exported(name: str) -> None:
    module = importlib.import_module(name)
    for attr, value in vars(module).items():
        if attr.startswith("_") or not callable(value) or isinstance(value, type(importlib)):
            continue
        defined_in = getattr(value, "__module__", "")
        if defined_in == name or defined_in.startswith(f"{name}._"):
            # callables the package defines itself (in its private modules) must be listed
            assert attr in module.__all__, f"{name}.{attr} is public but not in __all__"
