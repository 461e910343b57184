from __future__ import annotations

from collections.abc import Callable

import pytest

from zhengji.notices.registry import FormId, Registry, load_registry
from zhengji.parsers.checks import CheckContext

MakeContext = Callable[..., CheckContext]


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


@pytest.fixture
def make_context(registry: Registry) -> MakeContext:
    """The context the checking pipeline builds for a document of ``form`` under ``notice``."""

    def make(notice: str, form: FormId, *, signed_elsewhere: bool = False) -> CheckContext:
        return CheckContext.for_notice(registry.notice(notice), form, registry, signed_elsewhere=signed_elsewhere)

    return make
