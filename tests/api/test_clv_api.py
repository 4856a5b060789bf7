"""``GET /v1/analytics/clv``: the program's purchases fitted as the Python API fits them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from patron.access.models import ApiKey
from patron.access.service import create_api_key
from patron.analytics.clv import (
    fit_bgnbd,
    fit_gamma_gamma,
    predict_customer_value,
    summarize,
)
from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.events.ingest import ingest
from patron.members.models import Member
from tests.integration.conftest import CAFE, load_program
from tests.integration.test_clv_cli import _history

H = dict[str, str]
END = "2026-02-28"


@pytest.fixture
def shop(database: Database, clock: FrozenClock) -> dict[str, list[Any]]:
    """122 members' purchases through the engine; the columns that should count."""
    load_program(database, CAFE, clock)
    events, counted = _history()
    with database.unit_of_work() as session:
        assert all(r.status == "accepted" for r in ingest(session, events).results)
        ids = {ext: id_ for ext, id_ in session.execute(select(Member.external_id, Member.id))}
    columns: dict[str, list[Any]] = {"customer": [], "date": [], "amount": []}
    for name, purchases in counted.items():
        for moment, amount in purchases:
            columns["customer"].append(ids[name])
            columns["date"].append(moment)
            columns["amount"].append(amount)
    return columns


def test_fits_and_predictions_match_the_python_api(
    client: TestClient, shop: dict[str, list[Any]], read_headers: H
) -> None:
    response = client.get(
        "/v1/analytics/clv",
        params={"calibration_end": END, "horizon": 6, "discount_rate": "0.02", "top": 5},
        headers=read_headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    summary = summarize(
        shop, customer_col="customer", date_col="date", amount_col="amount", calibration_end=END
    )
    purchases = fit_bgnbd(summary.frequency, summary.recency, summary.T)
    repeat = summary.frequency > 0
    spend = fit_gamma_gamma(summary.frequency[repeat], summary.monetary_value[repeat])
    value = predict_customer_value(
        purchases,
        spend,
        summary.frequency,
        summary.recency,
        summary.T,
        summary.monetary_value,
        horizon=6,
        discount_rate=0.02,
    )
    assert (body["customers"], body["currency"], body["model"]) == (122, "USD", "bgnbd")
    fitted = body["purchase_model"]
    assert fitted["log_likelihood"] == pytest.approx(purchases.log_likelihood, rel=1e-9)
    assert [fitted["params"][k] for k in ("r", "alpha", "a", "b")] == pytest.approx(
        list(purchases.params), rel=1e-9
    )
    assert body["spend_model"]["log_likelihood"] == pytest.approx(spend.log_likelihood)
    assert Decimal(body["clv_total"]) == Decimal(repr(float(value.clv.sum()))).quantize(
        Decimal("0.01")
    )
    best = np.argsort(-value.clv, kind="stable")[:5]
    assert [t["member_id"] for t in body["top"]] == summary.customer[best].tolist()
    assert [Decimal(t["clv"]) for t in body["top"]] == sorted(
        (Decimal(t["clv"]) for t in body["top"]), reverse=True
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model": "markov"}, "model"),
        ({"freq": "Q"}, "freq"),
        ({"horizon": 0}, "horizon"),
        ({"discount_rate": "1"}, "discount_rate"),
        ({"discount_rate": "-0.1"}, "discount_rate"),
        ({"calibration_end": "2026-02-30"}, "calibration_end"),
        ({"calibration_end": "2001-01-01"}, "calibration_end"),  # before any purchase
        ({"top": 5000}, "top"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    client: TestClient, shop: dict[str, list[Any]], read_headers: H, params: Any, field: str
) -> None:
    response = client.get("/v1/analytics/clv", params=params, headers=read_headers)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_keys_scopes_and_no_program(
    client: TestClient, database: Database, read_headers: H
) -> None:
    assert client.get("/v1/analytics/clv").status_code == 401
    with database.unit_of_work() as session:
        row, secret = create_api_key(session, "narrowed", ["read"])
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(scopes=[]))
    narrowed = client.get("/v1/analytics/clv", headers={"Authorization": f"Bearer {secret}"})
    assert (narrowed.status_code, narrowed.json()["required_scope"]) == (403, "read")
    response = client.get("/v1/analytics/clv", headers=read_headers)
    assert (response.status_code, response.json()["field"]) == (409, "program")
