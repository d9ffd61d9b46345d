"""The CSV upload page: admins import files or a zip all or nothing; nobody else may."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kizuna.billing.models import Invoice, Subscription, SubscriptionItem
from kizuna.crm.models import Account, Contact, Profile, Role
from kizuna.pipeline.models import Deal
from kizuna.usage.models import UsageDaily

GOOD = Path(__file__).parent / "data" / "good"
URL = "/data/import/"
PASSWORD = "pw-kizuna-upload-1"

CUSTOMERS = (
    "customer_id,name,country,industry,employees,channel,owner,created_at\n"
    "C1,Alpha,JP,software,10,web,sato,2024-01-01\n"
    "C2,Beta,JP,retail,20,web,sato,2024-01-01\n"
)
CONTACTS = "contact_id,customer_id,name,role,status\nP1,C1,Ann,champion,active\n"


def csv_file(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def zip_file(name: str, members: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def store_counts() -> dict[str, int]:
    models = (Account, Contact, Subscription, SubscriptionItem, Invoice, UsageDaily, Deal)
    return {model.__name__: model.objects.count() for model in models}


def signed_in(client: Client, role: str | None, *, superuser: bool = False) -> Client:
    user = User.objects.create_user(f"user-{role or 'super'}", password=PASSWORD)
    if superuser:
        user.is_superuser = user.is_staff = True
        user.save()
    if role is not None:
        Profile.objects.create(user=user, role=role)
    client.force_login(user)
    return client


def upload(client: Client, *files: SimpleUploadedFile) -> Any:
    return client.post(URL, {"upload": list(files)}, HTTP_ACCEPT_LANGUAGE="en")


def shown_problems(response: Any) -> list[str]:
    return list(response.context["problems"])


@pytest.mark.django_db
def test_an_admin_sees_the_upload_form(client: Client) -> None:
    response = signed_in(client, Role.ADMIN).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file" name="upload" accept=".csv,.zip" multiple' in page
    assert "<code>deal_stage_history.csv</code>" in page


@pytest.mark.django_db
def test_posting_no_file_asks_for_one(client: Client) -> None:
    response = signed_in(client, Role.ADMIN).post(URL, {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert response.context["form"].errors == {"upload": ["This field is required."]}


@pytest.mark.django_db
def test_several_csv_files_are_imported_and_summarised(client: Client) -> None:
    response = upload(
        signed_in(client, Role.ADMIN),
        csv_file("customers.csv", CUSTOMERS),
        csv_file("contacts.csv", CONTACTS),
    )
    assert response.status_code == 200
    summary = [
        (file.name, file.rows, file.created, file.updated, file.unchanged)
        for file in response.context["report"].files
    ]
    assert summary == [("customers.csv", 2, 2, 0, 0), ("contacts.csv", 1, 1, 0, 0)]
    assert sorted(Account.objects.values_list("external_id", "name")) == [
        ("C1", "Alpha"),
        ("C2", "Beta"),
    ]
    assert list(Contact.objects.values_list("external_id", "account__external_id")) == [
        ("P1", "C1")
    ]
    assert "Imported" in response.content.decode()

    again = upload(client, csv_file("customers.csv", CUSTOMERS))
    [customers] = again.context["report"].files
    assert (customers.created, customers.updated, customers.unchanged) == (0, 0, 2)


@pytest.mark.django_db
def test_a_zip_of_a_whole_export_folder_is_imported(client: Client) -> None:
    members = {f"export/{path.name}": path.read_bytes() for path in sorted(GOOD.glob("*.csv"))}
    members["__MACOSX/export/._customers.csv"] = b"\x00\x05\x16\x07"
    response = upload(signed_in(client, Role.ADMIN), zip_file("kizuna.zip", members))
    assert response.status_code == 200, shown_problems(response)
    created = {file.name: file.created for file in response.context["report"].files}
    assert set(created) == {path.name for path in GOOD.glob("*.csv")}
    assert created["customers.csv"] == Account.objects.count() > 0
    assert Deal.objects.filter(external_id="D1").exists()


@pytest.mark.django_db
def test_a_bad_row_lists_the_problems_and_writes_nothing(client: Client) -> None:
    signed_in(client, Role.ADMIN)
    before = store_counts()
    response = upload(
        client,
        csv_file("customers.csv", CUSTOMERS),
        csv_file(
            "contacts.csv",
            "contact_id,customer_id,name,role,status\n"
            "P1,C1,Ann,champion,active\nP2,C9,Bob,other,active\nP3,C2,Cy,boss,active\n",
        ),
    )
    assert response.status_code == 422
    assert shown_problems(response) == [
        "contacts.csv:3: unknown customer_id 'C9'",
        "contacts.csv:4: 'role' must be one of decision_maker, daily_contact, champion, other, "
        "got 'boss'",
    ]
    assert response.context["problem_count"] == 2
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "contacts.csv:3: unknown customer_id &#x27;C9&#x27;" in page
    assert "report" not in response.context
    assert store_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            [("customers.csv", CUSTOMERS), ("clients.csv", "id\n1\n")],
            "clients.csv: not a file Kizuna imports; the files it reads: customers.csv, ",
        ),
        (
            [("customers.csv", CUSTOMERS), ("Customers.csv", CUSTOMERS)],
            "Customers.csv: sent more than once",
        ),
    ],
)
def test_a_file_the_importer_does_not_read_stops_the_whole_upload(
    client: Client, files: list[tuple[str, str]], expected: str
) -> None:
    signed_in(client, Role.ADMIN)
    response = upload(client, *(csv_file(name, text) for name, text in files))
    assert response.status_code == 422
    [problem] = shown_problems(response)
    assert problem.startswith(expected)
    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_a_zip_comes_alone_and_must_be_readable(client: Client) -> None:
    signed_in(client, Role.ADMIN)
    mixed = upload(
        client,
        zip_file("data.zip", {"customers.csv": CUSTOMERS.encode()}),
        csv_file("contacts.csv", CONTACTS),
    )
    assert shown_problems(mixed) == ["Send either CSV files or one .zip file, not both."]
    broken = upload(client, SimpleUploadedFile("data.zip", b"not a zip at all"))
    assert shown_problems(broken) == ["data.zip: not a readable .zip file"]
    empty = upload(client, zip_file("data.zip", {"notes/": b""}))
    assert shown_problems(empty) == ["data.zip: holds no file to import"]
    assert Account.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.CS_MANAGER, Role.CSM, Role.SALES, None])
def test_only_admins_may_upload(client: Client, role: str | None) -> None:
    signed_in(client, role)
    before = store_counts()
    assert client.get(URL).status_code == 403
    response = upload(client, csv_file("customers.csv", CUSTOMERS))
    assert response.status_code == 403
    assert store_counts() == before


@pytest.mark.django_db
def test_a_superuser_is_an_admin(client: Client) -> None:
    response = upload(signed_in(client, None, superuser=True), csv_file("customers.csv", CUSTOMERS))
    assert response.status_code == 200
    assert Account.objects.count() == 2


@pytest.mark.django_db
def test_signing_in_comes_first(client: Client) -> None:
    response = upload(client, csv_file("customers.csv", CUSTOMERS))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert Account.objects.count() == 0
