"""Saved segments on the account list: exact members through the URL, never more than the
user may see, saving the current filters, and the segments page."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from web_pages import Company

from crm.segment_accounts import DEFINITION, make_segment_accounts
from kizuna.crm import actions
from kizuna.crm.models import Segment

pytestmark = pytest.mark.django_db

# The segment's criteria as the account list's filters (one health band: risk).
CRITERIA_QUERY = (
    "industry=Manufacturing&employees_min=100&employees_below=1000&health_status=risk"
    "&days_since_last_use_min=30&mrr_min=100000&mrr_below=500000"
)


@pytest.fixture
def shared(company: Company) -> Segment:
    make_segment_accounts(company.users["csm"], company.users["other_csm"])
    return actions.save_segment(
        owner=company.users["cs_manager"], name="At-risk makers", definition=DEFINITION, shared=True
    )


def _listed(client: Client, company: Company, role: str, query: str) -> list[str]:
    client.force_login(company.users[role])
    response = client.get(f"/accounts/?{query}&sort=name&export=accounts")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return [row[0] for row in rows[1:]]


def _page(client: Client, query: str = "") -> str:
    return client.get(f"/accounts/?{query}", HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", ["Edges", "Inside"]),
        ("executive", ["Edges", "Inside"]),
        ("cs_manager", ["Inside"]),
        ("csm", ["Inside"]),
        ("other_csm", ["Edges"]),
        ("sales", []),
    ],
)
def test_segment_filter_gives_its_members_within_what_the_user_sees(
    client: Client, company: Company, shared: Segment, role: str, expected: list[str]
) -> None:
    assert _listed(client, company, role, f"segment={shared.pk}") == expected


def test_criteria_in_the_url_select_like_the_segment(
    client: Client, company: Company, shared: Segment
) -> None:
    assert _listed(client, company, "admin", CRITERIA_QUERY) == ["Inside"]
    critical = CRITERIA_QUERY.replace("health_status=risk", "health_status=critical")
    assert _listed(client, company, "admin", critical) == ["Edges"]
    # A segment and criteria together: both must hold.
    assert _listed(client, company, "admin", f"segment={shared.pk}&health_status=critical") == [
        "Edges"
    ]


def test_page_shows_the_chosen_segment(client: Client, company: Company, shared: Segment) -> None:
    client.force_login(company.users["admin"])
    html = _page(client, f"segment={shared.pk}")
    assert f'<option value="{shared.pk}" selected>At-risk makers</option>' in html
    assert "<strong>Segment At-risk makers</strong>: Industry: Manufacturing · " in html
    assert "2 accounts" in html
    assert "Save these filters as a segment" not in html


def test_someone_elses_personal_segment_is_refused(
    client: Client, company: Company, shared: Segment
) -> None:
    personal = actions.save_segment(
        owner=company.users["other_csm"], name="Ben's", definition={"industry": ["Retail"]}
    )
    client.force_login(company.users["csm"])
    html = _page(client, f"segment={personal.pk}")
    assert "Segment: Select a valid choice." in html
    assert "Ben&#x27;s" not in html
    assert _listed(client, company, "csm", f"segment={personal.pk}") == _listed(
        client, company, "csm", ""
    )


def test_save_the_current_filters_as_a_personal_segment(
    client: Client, company: Company, shared: Segment
) -> None:
    client.force_login(company.users["csm"])
    assert "Save these filters as a segment" in _page(client, CRITERIA_QUERY)
    response = client.post(
        "/accounts/segments/save/", {"name": "My makers", "filters": CRITERIA_QUERY}
    )
    saved = Segment.objects.get(name="My makers")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/?segment={saved.pk}"
    assert (saved.owner, saved.shared) == (company.users["csm"], False)
    assert saved.definition == {
        "industry": ["Manufacturing"],
        "health_status": ["risk"],
        "employees": {"min": "100", "below": "1000"},
        "days_since_last_use": {"min": "30"},
        "mrr": {"min": "100000", "below": "500000"},
    }
    assert _listed(client, company, "csm", f"segment={saved.pk}") == ["Inside"]


def test_owner_filter_is_saved_by_user_name(client: Client, company: Company) -> None:
    client.force_login(company.users["admin"])
    owner = company.users["other_csm"].pk
    client.post("/accounts/segments/save/", {"name": "Ben's book", "filters": f"owner={owner}"})
    assert Segment.objects.get().definition == {"owner": ["ben"]}


@pytest.mark.parametrize(
    ("role", "data", "status"),
    [
        ("csm", {"shared": "on"}, 403),
        ("executive", {"shared": "on"}, 403),
    ],
)
def test_only_managers_and_admins_share(
    client: Client, company: Company, role: str, data: dict[str, str], status: int
) -> None:
    client.force_login(company.users[role])
    response = client.post(
        "/accounts/segments/save/", {"name": "Shared", "filters": "plan=Starter", **data}
    )
    assert response.status_code == status
    assert Segment.objects.count() == 0


def test_manager_shares_and_everyone_sees_it(client: Client, company: Company) -> None:
    client.force_login(company.users["cs_manager"])
    client.post(
        "/accounts/segments/save/", {"name": "Low", "filters": "touch_tier=low", "shared": "on"}
    )
    segment = Segment.objects.get()
    assert (segment.shared, segment.definition) == (True, {"touch_tier": ["low"]})
    assert _listed(client, company, "executive", f"segment={segment.pk}") == ["Globex GK"]
    assert _listed(client, company, "csm", f"segment={segment.pk}") == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("q=acme", "The segment was not saved: A segment needs at least one criterion."),
        ("plan=Starter&segment=1", "The segment was not saved: clear the segment filter first"),
        ("plan=Nope", "The segment was not saved: A segment needs at least one criterion."),
    ],
)
def test_refused_saves_say_why(
    client: Client, company: Company, filters: str, message: str
) -> None:
    client.force_login(company.users["admin"])
    response = client.post(
        "/accounts/segments/save/",
        {"name": "Any", "filters": filters},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert message in response.content.decode()
    assert Segment.objects.count() == 0


def test_missing_name_is_named(client: Client, company: Company) -> None:
    client.force_login(company.users["admin"])
    response = client.post(
        "/accounts/segments/save/",
        {"name": "", "filters": "plan=Starter"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    html = response.content.decode()
    assert "The segment was not saved: Segment name: This field is required." in html
    assert response.redirect_chain == [("/accounts/?plan=Starter", 302)]
    assert Segment.objects.count() == 0


def test_a_reversed_range_is_an_error_naming_the_field(client: Client, company: Company) -> None:
    client.force_login(company.users["admin"])
    html = _page(client, "mrr_min=500&mrr_below=100")
    assert "below: Contracted MRR: “below” must be more than “at least”." in html


def _segments_page(client: Client) -> str:
    return client.get("/accounts/segments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def _row(html: str, segment: Segment) -> str:
    start = html.index(f'<tr data-segment="{segment.pk}">')
    return html[start : html.index("</tr>", start)]


def test_segments_page_counts_members_the_user_may_see(
    client: Client, company: Company, shared: Segment
) -> None:
    mine = actions.save_segment(
        owner=company.users["csm"], name="Mine", definition={"touch_tier": ["high"]}
    )
    client.force_login(company.users["csm"])
    html = _segments_page(client)
    row = _row(html, shared)
    assert f'<a href="/accounts/?segment={shared.pk}">At-risk makers</a>' in row
    assert "<td>Shared</td><td>mori</td>" in row
    assert '<td class="num">1</td>' in row
    assert "Delete" not in row
    row = _row(html, mine)
    assert "<td>Touch tier: High touch</td><td>Personal</td><td>aiko</td>" in row
    assert '<td class="num">1</td>' in row
    assert "Delete" in row
    client.force_login(company.users["admin"])
    assert '<td class="num">2</td>' in _row(_segments_page(client), shared)
    assert f'data-segment="{mine.pk}"' not in _segments_page(client)


def test_delete_permissions(client: Client, company: Company, shared: Segment) -> None:
    personal = actions.save_segment(
        owner=company.users["other_csm"], name="Ben's", definition={"plan": ["Starter"]}
    )
    client.force_login(company.users["csm"])
    assert client.post(f"/accounts/segments/{shared.pk}/delete/").status_code == 403
    assert client.post(f"/accounts/segments/{personal.pk}/delete/").status_code == 404
    assert Segment.objects.count() == 2
    client.force_login(company.users["cs_manager"])
    response = client.post(
        f"/accounts/segments/{shared.pk}/delete/", follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Segment At-risk makers deleted." in response.content.decode()
    assert list(Segment.objects.all()) == [personal]


def test_list_query_budget_with_a_segment(
    client: Client, company: Company, shared: Segment, django_assert_max_num_queries: Any
) -> None:
    client.force_login(company.users["executive"])
    with django_assert_max_num_queries(12):
        assert client.get(f"/accounts/?segment={shared.pk}").status_code == 200
