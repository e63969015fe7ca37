"""Page tests run the Flask test client over the demo registry (registry/demo.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from registry.config import Config
from registry.demo import build_demo
from tests.conftest import NOW

RETIRED = "PC_P_PP_ARC-2026-1-000000000001-000000040000"
GENERATED = "PC_P_PP_ARC-2026-1-000000000001-000000150000"


@dataclass
class Demo:
    admin_token: str
    brand_token: str


@pytest.fixture
def demo(app, engine, db_url) -> Demo:
    summary = build_demo(engine, Config(database_url=db_url, clock=NOW.isoformat()))
    admin, brand = re.findall(r"arc_[A-Za-z0-9_-]+", summary)
    return Demo(admin, brand)
