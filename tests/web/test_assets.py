from __future__ import annotations

import plotly
import pytest
from django.test import Client

from kizuna.web.views_assets import PLOTLY_JS


@pytest.mark.django_db
def test_plotly_is_served_from_the_package_with_long_cache(client: Client) -> None:
    response = client.get(f"/assets/plotly-{plotly.__version__}.min.js")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Content-Type"].startswith("text/javascript")
    assert response.content == PLOTLY_JS.read_bytes()
    assert client.get("/assets/plotly-0.0.1.min.js").status_code == 404


@pytest.mark.django_db
def test_pages_load_plotly_locally(client: Client, company: object) -> None:
    from web_pages import Company

    assert isinstance(company, Company)
    client.force_login(company.users["executive"])
    html = client.get("/executive/").content.decode()
    assert f'<script src="/assets/plotly-{plotly.__version__}.min.js" defer></script>' in html
    assert "cdn" not in html.lower()
