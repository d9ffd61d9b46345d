"""The CS dashboard's risk list ranked by churn probability, and its saved-segment filter
(hand-made scores, predictions, NPS answers and churns on the test company)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from web_pages import Company, traces

from kizuna.crm.models import Account, AccountStatus, ChurnReason, ChurnRecord, Segment
from kizuna.health.models import HealthScore, HealthStatus, Scorecard
from kizuna.prediction.models import ChurnModel, ChurnPrediction
from kizuna.sources.store_cs_summary import recompute_cs_summary
from kizuna.usage.models import NpsResponse

pytestmark = pytest.mark.django_db


def _score(account: Account, day: date, score: str, status: str) -> None:
    card, _created = Scorecard.objects.get_or_create(name="B", defaults={"definition": {}})
    HealthScore.objects.create(
        account=account,
        scorecard=card,
        date=day,
        score=Decimal(score),
        status=status,
        coverage=Decimal(1),
    )


@pytest.fixture
def initech(company: Company) -> Account:
    """A third account of Aiko's book, in retail, with no prediction."""
    return Account.objects.create(
        name="Initech",
        industry="Retail",
        cs_owner=company.users["csm"],
        status=AccountStatus.CUSTOMER,
        created_at=timezone.now(),
    )


@pytest.fixture
def risky(company: Company, initech: Account) -> date:
    """Today's scores: Initech 30, Globex 40, Acme 55 (all below 60)."""
    today = timezone.localdate()
    _score(company.acme, today, "55.0", HealthStatus.RISK)
    _score(company.globex, today, "40.0", HealthStatus.CRITICAL)
    _score(initech, today, "30.0", HealthStatus.CRITICAL)
    return today


def _predict(day: date, probabilities: dict[Account, float]) -> None:
    model = ChurnModel.objects.create(
        trained_at=timezone.now(),
        as_of=day,
        horizon_days=90,
        training_rows=10,
        training_churned=2,
        parameters={},
    )
    for account, probability in probabilities.items():
        ChurnPrediction.objects.create(
            account=account, as_of=day, probability=probability, model=model
        )


def _get(client: Client, company: Company, role: str, url: str) -> str:
    client.force_login(company.users[role])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode("utf-8-sig")


def _risk_rows(html: str) -> list[list[str]]:
    """The risk list's cells (account name, …) as shown, row by row."""
    table = html[html.index('id="table-risk"') :]
    table = table[: table.index("</table>")]
    body = table[table.index("<tbody>") :]
    rows = []
    for row in body.split("<tr>")[1:]:
        cells = [cell.split("</td>")[0] for cell in row.split("<td")[1:]]
        rows.append([cell[cell.index(">") + 1 :] for cell in cells])
    return rows


def _names(rows: list[list[str]]) -> list[str]:
    return [row[0].split(">")[1].split("<")[0] for row in rows]


def _csv(client: Client, url: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(client.get(url).content.decode("utf-8-sig"))))


def test_risk_list_ranked_by_churn_probability(
    client: Client, company: Company, initech: Account, risky: date
) -> None:
    _predict(risky - timedelta(days=1), {company.acme: 0.1, company.globex: 0.9})  # older
    _predict(risky, {company.acme: 0.8, company.globex: 0.25})

    by_score = _risk_rows(_get(client, company, "executive", "/cs/"))
    html = _get(client, company, "executive", "/cs/?rank=churn")
    by_churn = _risk_rows(html)

    assert _names(by_score) == ["Initech", "Globex GK", "Acme KK"]
    assert [row[1:3] for row in by_score] == [["30", "—"], ["40", "25.0%"], ["55", "80.0%"]]
    assert _names(by_churn) == ["Acme KK", "Globex GK", "Initech"]  # no prediction: last
    assert f"churn probability as of {risky.isoformat()}" in html
    assert '<option value="churn" selected>Churn probability</option>' in html
    assert 'href="?rank=churn&amp;export=risk"' in html
    rows = _csv(client, "/cs/?rank=churn&export=risk")
    assert rows[0][:4] == ["account", "score", "churn_probability", "status"]
    assert [row[:3] for row in rows[1:]] == [
        ["Acme KK", "55", "0.8"],
        ["Globex GK", "40", "0.25"],
        ["Initech", "30", ""],
    ]


def test_without_predictions_no_probability_and_no_ranking(
    client: Client, company: Company, risky: date
) -> None:
    html = _get(client, company, "executive", "/cs/?rank=churn")
    assert _names(_risk_rows(html)) == ["Initech", "Globex GK", "Acme KK"]
    assert 'name="rank"' not in html
    assert _csv(client, "/cs/?rank=churn&export=risk")[0] == [
        "account",
        "score",
        "status",
        "cs_owner",
        "open_tasks",
        "last_touch",
        "response",
    ]


def test_a_csm_ranks_only_their_book(
    client: Client, company: Company, initech: Account, risky: date
) -> None:
    _predict(risky, {company.acme: 0.8, company.globex: 0.95})
    html = _get(client, company, "csm", "/cs/?rank=churn")
    assert _names(_risk_rows(html)) == ["Acme KK", "Initech"]


@pytest.fixture
def makers(company: Company) -> Segment:
    return Segment.objects.create(
        name="Makers",
        owner=company.users["cs_manager"],
        shared=True,
        definition={"industry": ["Manufacturing"]},
    )


def test_segment_narrows_every_per_account_figure(
    client: Client, company: Company, initech: Account, risky: date, makers: Segment
) -> None:
    """Makers holds Acme only: the lists, the band counts, NPS, churn reasons and scores
    before churn are Acme's; without the segment they are everyone's."""
    today = risky
    churned_on = today - timedelta(days=5)
    for account, before in ((company.acme, "70.0"), (company.globex, "50.0")):
        ChurnRecord.objects.create(account=account, churned_on=churned_on, reason=ChurnReason.COST)
        _score(account, churned_on - timedelta(days=35), before, HealthStatus.CAUTION)
    for account, answers in ((company.acme, (10, 9, 3)), (company.globex, (2, 1))):
        for answer in answers:
            NpsResponse.objects.create(account=account, responded_on=today, score=answer)
    recompute_cs_summary()
    month = today.strftime("%Y-%m")

    everyone = _get(client, company, "executive", "/cs/")
    html = _get(client, company, "executive", f"/cs/?segment={makers.pk}")

    assert traces(everyone, "chart-health")["Accounts"]["y"][:4] == [0, 0, 1, 2]
    assert traces(html, "chart-health")["Accounts"]["y"][:4] == [0, 0, 1, 0]
    assert _names(_risk_rows(html)) == ["Acme KK"]
    # NPS: everyone (2 promoters − 3 detractors) ÷ 5 = −20; Acme (2 − 1) ÷ 3 = 33.3.
    assert traces(everyone, "chart-nps")["NPS"]["y"] == [-20.0]
    assert (traces(html, "chart-nps")["NPS"]["x"], traces(html, "chart-nps")["NPS"]["y"]) == (
        [month],
        [33.3],
    )
    assert traces(everyone, "chart-churn-reasons")["Churned accounts"]["y"][0] == 2
    assert traces(html, "chart-churn-reasons")["Churned accounts"]["y"][0] == 1
    # Scores one month before churn: (70 + 50) ÷ 2 for everyone, Acme's 70 in the segment.
    assert traces(everyone, "chart-pre-churn")["Average health score"]["y"][5] == 60.0
    assert traces(html, "chart-pre-churn")["Average health score"]["y"][5] == 70.0
    assert f'<option value="{makers.pk}" selected>Makers</option>' in html
    assert "Only the accounts of the segment “Makers” among those you may see." in html
    # Exports keep the segment.
    assert f'href="?segment={makers.pk}&amp;export=risk"' in html
    assert [row[0] for row in _csv(client, f"/cs/?segment={makers.pk}&export=risk")[1:]] == [
        "Acme KK"
    ]
    assert _csv(client, f"/cs/?segment={makers.pk}&export=nps")[1] == [month, "3", "2", "1", "33.3"]


def test_a_segment_never_widens_the_book(
    client: Client, company: Company, initech: Account, risky: date, makers: Segment
) -> None:
    html = _get(client, company, "other_csm", f"/cs/?segment={makers.pk}")
    assert "No account below the risk threshold." in html
    assert traces(html, "chart-health")["Accounts"]["y"][:4] == [0, 0, 0, 0]


def test_someone_elses_personal_segment_is_refused(
    client: Client, company: Company, risky: date
) -> None:
    personal = Segment.objects.create(
        name="Mine", owner=company.users["csm"], definition={"industry": ["Manufacturing"]}
    )
    html = _get(client, company, "executive", f"/cs/?segment={personal.pk}")
    assert 'role="alert"' in html
    assert "Segment: Select a valid choice." in html
    assert _names(_risk_rows(html)) == ["Initech", "Globex GK", "Acme KK"]  # not filtered


def test_segment_nps_adds_up_the_days_of_each_month(
    client: Client, company: Company, risky: date, makers: Segment
) -> None:
    """Acme (Makers): 6 on the last day of last month; 10 and 3 on the 1st of this month
    and 9 on the 2nd. Globex's 10 last month is outside the segment."""
    first = risky.replace(day=1)
    last_month_end = first - timedelta(days=1)
    for account, day, score in (
        (company.acme, last_month_end, 6),
        (company.acme, first, 10),
        (company.acme, first, 3),
        (company.acme, first + timedelta(days=1), 9),
        (company.globex, last_month_end, 10),
    ):
        NpsResponse.objects.create(account=account, responded_on=day, score=score)
    months = [last_month_end.strftime("%Y-%m"), first.strftime("%Y-%m")]

    html = _get(client, company, "executive", f"/cs/?segment={makers.pk}")

    nps = traces(html, "chart-nps")["NPS"]
    # Last month (0 − 1) ÷ 1 = −100; this month (2 − 1) ÷ 3 = 33.3.
    assert (nps["x"], nps["y"]) == (months, [-100.0, 33.3])
    assert _csv(client, f"/cs/?segment={makers.pk}&export=nps")[1:] == [
        [months[0], "1", "0", "1", "-100"],
        [months[1], "3", "2", "1", "33.3"],
    ]
