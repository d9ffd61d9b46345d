from __future__ import annotations

import pytest
from django.test import Client
from web_pages import Company, traces

pytestmark = pytest.mark.django_db


def test_japanese_by_default(client: Client, company: Company) -> None:
    client.force_login(company.users["executive"])
    html = client.get("/executive/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert '<html lang="ja">' in html
    assert "経営ダッシュボード" in html
    assert "前月比 +13.3%" in html
    assert "顧客解約率（ロゴチャーン）" in html
    assert set(traces(html, "chart-movements")) == {
        "新規",
        "拡大",
        "復活",
        "縮小",
        "解約",
        "純増 MRR",
    }


def test_language_switch_is_remembered(client: Client, company: Company) -> None:
    client.force_login(company.users["csm"])
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/cs/"})
    assert response.status_code == 302
    html = client.get("/cs/").content.decode()
    assert "Customer success dashboard" in html
    client.post("/i18n/setlang/", {"language": "ja", "next": "/cs/"})
    html = client.get(f"/accounts/{company.acme.pk}/").content.decode()
    # Babel writes the Japanese yen sign full-width.
    assert "MRR が ￥20,000 増加しました（￥100,000 → ￥120,000）。" in html
    assert "活動を記録" in html


def test_every_page_in_japanese_has_no_english_headings(client: Client, company: Company) -> None:
    client.force_login(company.users["admin"])
    for url, heading in (
        ("/sales/", "営業ダッシュボード"),
        ("/cs/", "カスタマーサクセスダッシュボード"),
        ("/contracts/", "契約ランキング"),
        ("/accounts/", "取引先"),
        ("/executive/report/", "取締役会レポート"),
    ):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
        assert heading in html, url
        assert "Download CSV" not in html
        assert "CSV をダウンロード" in html
