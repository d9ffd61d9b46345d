from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.test.utils import override_settings
from web_pages import Company, figure, traces

pytestmark = pytest.mark.django_db


def _get(client: Client, company: Company, url: str, role: str = "executive") -> str:
    client.force_login(company.users[role])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_tiles_show_latest_month_and_change(client: Client, company: Company) -> None:
    html = _get(client, company, "/executive/")
    assert "Figures for 2024-02" in html
    assert '<div class="value">¥170,000</div>' in html
    assert "+13.3% vs last month" in html  # MRR 150,000 → 170,000
    assert "-90.0% vs last month" in html  # net new MRR 150,000 → 15,000
    assert '<div class="value">112.0%</div>' in html  # NRR (12 months)


def test_movements_are_stacked_with_losses_below_zero(client: Client, company: Company) -> None:
    html = _get(client, company, "/executive/")
    bars = traces(html, "chart-movements")
    assert bars["New"]["y"] == [150000.0, 0.0]
    assert bars["Expansion"]["y"] == [0.0, 20000.0]
    assert bars["Contraction"]["y"] == [-0.0, -5000.0]
    assert bars["Churned"]["y"] == [-0.0, -0.0]
    assert bars["Net new MRR"]["type"] == "scatter"
    assert bars["Net new MRR"]["y"] == [150000.0, 15000.0]
    assert "Exchange-rate effect" not in bars
    assert figure(html, "chart-movements")["layout"]["barmode"] == "relative"


def test_retention_has_target_lines_from_settings(client: Client, company: Company) -> None:
    html = _get(client, company, "/executive/")
    layout = figure(html, "chart-retention")["layout"]
    assert sorted(shape["y0"] for shape in layout["shapes"]) == [0.9, 1.1]
    assert traces(html, "chart-retention")["NRR (12 months)"]["y"] == [None, 1.12]
    with override_settings(KIZUNA_TARGET_NRR="1.2", KIZUNA_TARGET_GRR="0.95"):
        html = _get(client, company, "/executive/")
    layout = figure(html, "chart-retention")["layout"]
    assert sorted(shape["y0"] for shape in layout["shapes"]) == [0.95, 1.2]
    assert "NRR target 120%" in [note["text"] for note in layout["annotations"]]


def test_quarterly_unit_economics_and_cohort_heat_maps(client: Client, company: Company) -> None:
    html = _get(client, company, "/executive/")
    unit = traces(html, "chart-unit-economics")
    assert unit["LTV/CAC"]["x"] == ["2024 Q1"]
    assert unit["LTV/CAC"]["y"] == [3.5]
    assert unit["CAC payback (months)"]["y"] == [11.2]
    heat = figure(html, "chart-cohort-mrr")["data"][0]
    assert heat["y"] == ["2024-01"]
    assert heat["z"] == [[1.0, 1.133333]]
    assert figure(html, "chart-cohort-logos")["data"][0]["z"] == [[1.0, 1.0]]


def test_period_filter_in_url(client: Client, company: Company) -> None:
    html = _get(client, company, "/executive/?from=2024-01&to=2024-01")
    assert traces(html, "chart-arr")["ARR"]["y"] == [1800000.0]
    assert "Figures for 2024-01" in html


def test_monthly_figures_csv(client: Client, company: Company) -> None:
    client.force_login(company.users["csm"])
    response = client.get("/executive/?export=monthly")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["period", "mrr", "arr", "customers", "arpa"]
    assert rows[2][:5] == ["2024-02", "170000", "2040000", "2", "85000"]
    assert rows[2][rows[0].index("gross_mrr_churn_rate")] == "0.0333333333"
    assert client.get("/executive/?export=nothing").status_code == 404


def test_board_report_is_printable(client: Client, company: Company) -> None:
    html = _get(client, company, "/executive/report/?from=2024-01&to=2024-02")
    assert "Print or save as PDF" in html
    assert "period 2024-01 to 2024-02" in html
    assert traces(html, "chart-movements")["Expansion"]["y"] == [0.0, 20000.0]


def test_pages_without_results_say_so(client: Client, db: None) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("root", password="pw-kizuna-123456")
    client.force_login(user)
    for url in ("/executive/", "/executive/report/", "/contracts/"):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "No revenue figures yet" in html


def test_dashboard_query_budget(
    client: Client, company: Company, django_assert_max_num_queries: object
) -> None:
    client.force_login(company.users["executive"])
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        assert client.get("/executive/").status_code == 200
