"""Run the JSON-dependent chainlog tests on both JSON backends (stdlib json and orjson)."""

from __future__ import annotations

import pytest

from chainlog import _json


@pytest.fixture(params=["json", "orjson"])
def json_backend(request):
    if request.param == "orjson" and _json._orjson is None:
        pytest.skip("orjson is not installed")
    before = _json.BACKEND
    _json.use_stdlib(request.param == "json")
    yield request.param
    _json.use_stdlib(before == "json")
