"""The sales dashboard reads the stored forecast: exact figures, scoping, filters, CSV, budget.

The deals and their hand-computed figures are described in ``sales_forecast``.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client
from sales_forecast import forecast
from web_pages import Company, figure, traces

from kizuna.pipeline.models import ForecastResult

__all__ = ["forecast"]

pytestmark = pytest.mark.django_db


def _html(client: Client, company: Company, url: str, role: str, language: str = "en") -> str:
    client.force_login(company.users[role])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _csv(client: Client, company: Company, url: str, role: str) -> list[list[str]]:
    client.force_login(company.users[role])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _stored(metric: str) -> list[dict[str, object]]:
    return [{**row.key, **row.values} for row in ForecastResult.objects.filter(metric=metric)]


def test_an_executive_sees_every_table_with_the_engine_figures(
    client: Client, forecast: Company
) -> None:
    url = "/sales/?export="
    assert _csv(client, forecast, url + "pipeline", "executive") == [
        [
            "stage",
            "probability",
            "deals",
            "amount_mrr",
            "weighted_mrr",
            "one_off_amount",
            "weighted_one_off",
            "currency",
        ],
        # Sato's 40,000, nobody's 10,000 and Ben's 30,000, each × 55 %.
        ["Proposal", "0.55", "3", "80000", "44000", "0", "0", "JPY"],
    ]
    weighted = sum(
        (
            Decimal(str(row["weighted_mrr"]))
            for row in _stored("weighted_pipeline")
            if row["currency"] == "JPY"
        ),
        Decimal(0),
    )
    assert weighted == Decimal(44000)
    assert _csv(client, forecast, url + "forecast", "executive") == [
        [
            "month",
            "won_by_as_of_mrr",
            "weighted_open_mrr",
            "forecast_mrr",
            "actual_mrr",
            "variance",
            "currency",
        ],
        ["2024-03", "0", "27500", "27500", "0", "-27500", "JPY"],
        ["2024-04", "0", "16500", "16500", "0", "-16500", "JPY"],
    ]
    assert _csv(client, forecast, url + "trials", "executive") == [
        ["week", "trials", "paid", "rate"],
        ["2023-11-06", "1", "1", "1"],
        ["2024-01-08", "1", "0", "0"],
    ]
    assert _csv(client, forecast, url + "reps", "executive") == [
        ["rep", "won_deals", "new_mrr", "expansion_mrr", "won_one_off", "currency"],
        ["sato", "1", "100000", "0", "0", "JPY"],
    ]
    assert _csv(client, forecast, url + "sources", "executive") == [
        [
            "channel",
            "deals",
            "won",
            "conversion_rate",
            "new_mrr",
            "won_customers",
            "spend",
            "cac",
            "currency",
        ],
        ["webinar", "2", "1", "0.5", "100000", "1", "300000", "300000", "JPY"],
        ["Unknown", "3", "0", "0", "0", "0", "0", "", "JPY"],
    ]
    assert _csv(client, forecast, url + "cycle", "executive") == [
        ["stage", "stays", "average_days", "median_days", "in_stage_now"],
        ["Proposal", "1", "21", "21", "4"],  # Initech: 20 January → 10 February
    ]
    assert _csv(client, forecast, url + "conversion", "executive") == [
        ["stage", "entered", "advanced", "lost", "still_open", "conversion_rate"],
        ["Proposal", "5", "0", "1", "4", "0"],
    ]
    assert _csv(client, forecast, url + "win_rate", "executive") == [
        ["pipeline", "won", "lost", "win_rate", "won_mrr", "lost_mrr", "currency"],
        ["New business", "1", "1", "0.5", "100000", "20000", "JPY"],
    ]
    assert _csv(client, forecast, url + "lost_reasons", "executive") == [
        ["reason", "deals", "share", "lost_mrr", "currency"],
        ["Price", "1", "1", "20000", "JPY"],
    ]


def test_the_page_draws_the_stored_figures(client: Client, forecast: Company) -> None:
    html = _html(client, forecast, "/sales/", "executive")
    assert "Forecast as of 2024-03-15" in html
    pipeline = traces(html, "chart-pipeline")
    assert (pipeline["MRR amount"]["y"], pipeline["MRR amount"]["x"]) == (["Proposal"], [80000.0])
    assert pipeline["Weighted MRR"]["x"] == [44000.0]
    assert traces(html, "chart-forecast")["Forecast MRR"]["y"] == [27500.0, 16500.0]
    assert traces(html, "chart-trials")["Conversion rate"]["y"] == [1.0, 0.0]
    assert traces(html, "chart-cycle")["Median days"]["x"] == [21.0]
    win = html[html.index('id="table-win_rate"') :]
    assert '<td class="num">50.0%</td>' in win[: win.index("</table>")]
    sources = html[html.index('id="table-sources"') :]
    assert '<td class="num">¥300,000</td>' in sources[: sources.index("</table>")]


def test_money_is_shown_per_currency(client: Client, forecast: Company) -> None:
    html = _html(client, forecast, "/sales/?currency=USD", "executive")
    assert "amounts in USD" in html
    table = html[html.index('id="table-pipeline"') :]
    table = table[: table.index("</table>")]
    assert '<td class="num">$1,500.50</td>' in table
    assert '<td class="num">$825.28</td>' in table  # 1,500.50 × 55 %, rounded to the cent
    assert "¥" not in table
    assert (
        "Weighted MRR: $%{x:,.0f}"
        in traces(html, "chart-pipeline")["Weighted MRR"]["hovertemplate"]
    )
    assert figure(html, "chart-pipeline")["layout"]["xaxis"]["tickprefix"] == "$"
    html = _html(client, forecast, "/sales/", "executive", "ja")
    table = html[html.index('id="table-pipeline"') :]
    assert '<td class="num">￥80,000</td>' in table[: table.index("</table>")]
    assert "営業ダッシュボード" in html


def test_filters_live_in_the_url(client: Client, forecast: Company) -> None:
    base = "/sales/?export=pipeline&owner="
    assert _csv(client, forecast, base + "ben", "executive")[1][2:5] == ["1", "30000", "16500"]
    # Close months: March only leaves Sato's and the unowned deal.
    rows = _csv(client, forecast, "/sales/?export=pipeline&from=2024-03&to=2024-03", "executive")
    assert rows[1][2:5] == ["2", "50000", "27500"]
    rows = _csv(client, forecast, "/sales/?export=trials&from=2024-01", "executive")
    assert rows[1:] == [["2024-01-08", "1", "0", "0"]]
    rows = _csv(client, forecast, "/sales/?export=win_rate&pipeline=other", "executive")
    assert rows[1:] == []
    html = _html(client, forecast, "/sales/?owner=ben&currency=USD&from=2024-03", "executive")
    assert '<option value="ben" selected>' in html
    assert '<option value="USD" selected>' in html
    assert 'name="from" value="2024-03"' in html


@pytest.mark.parametrize(
    ("role", "pipeline"),
    [
        ("sales", ["Proposal", "0.55", "1", "40000", "22000", "0", "0", "JPY"]),
        ("other_csm", ["Proposal", "0.55", "1", "30000", "16500", "0", "0", "JPY"]),
        ("csm", None),
        ("cs_manager", None),  # the team (Mori, Aiko) owns no deal
    ],
)
def test_others_see_only_their_own_figures(
    client: Client, forecast: Company, role: str, pipeline: list[str] | None
) -> None:
    rows = _csv(client, forecast, "/sales/?export=pipeline", role)
    assert rows[1:] == ([pipeline] if pipeline else [])
    # Asking for someone else's rows by name changes nothing.
    assert _csv(client, forecast, "/sales/?export=pipeline&owner=ben", role) == rows
    client.force_login(forecast.users[role])
    for table in ("forecast", "trials", "sources", "cycle", "conversion", "win_rate"):
        assert client.get(f"/sales/?export={table}").status_code == 404
    html = _html(client, forecast, "/sales/", role)
    assert 'data-scope="own"' in html
    assert "ben" not in html if role != "other_csm" else "sato" not in html
    assert 'id="chart-forecast"' not in html


def test_a_rep_sees_own_results_per_rep(client: Client, forecast: Company) -> None:
    assert _csv(client, forecast, "/sales/?export=reps", "sales")[1:] == [
        ["sato", "1", "100000", "0", "0", "JPY"]
    ]
    assert _csv(client, forecast, "/sales/?export=reps", "other_csm")[1:] == []


def test_without_results_the_page_says_how_to_get_them(client: Client, company: Company) -> None:
    html = _html(client, company, "/sales/", "executive")
    assert "No forecast yet" in html
    assert 'id="chart-pipeline"' not in html


@pytest.mark.parametrize("role", ["executive", "cs_manager"])
def test_query_budget(
    client: Client, forecast: Company, django_assert_max_num_queries: object, role: str
) -> None:
    client.force_login(forecast.users[role])
    with django_assert_max_num_queries(9):  # type: ignore[operator]
        assert client.get("/sales/").status_code == 200
