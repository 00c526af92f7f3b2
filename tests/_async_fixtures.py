"""The event loops the async transport tests run on: asyncio's own, and
uvloop where it is installed. A test module that imports ``anyio_backend``
from here runs each of its anyio tests on both."""

from __future__ import annotations

import pytest


def _backends() -> list[object]:
    params = [pytest.param("asyncio", id="asyncio")]
    try:
        import uvloop  # noqa: F401

        params.append(pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"))
    except ImportError:  # pragma: no cover
        pass
    return params


@pytest.fixture(params=_backends())
def anyio_backend(request: pytest.FixtureRequest) -> object:
    return request.param

