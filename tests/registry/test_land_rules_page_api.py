"""Two land rules that the page and the API must give alike, because both ask the one service
function: when a contract may be renewed (R02, ``land.renewal_window``) and which contracts a
plot may be put into (R01, ``land.contract_candidates``)."""

from __future__ import annotations

import re

import pytest

from app.registry import history
from app.registry.models import LandContract
from tests.factories import land as fx
from tests.registry.test_land_web import bearer, text

pytestmark = pytest.mark.authz


def _options(page: str, field: str) -> list[int]:
    """The values a page's <select> offers, "none" (0) left out."""
    match = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no {field} list on the page"
    return [int(v) for v in re.findall(r'value="(\d+)"', match.group(1)) if v != "0"]


def test_renewal_window_same_on_page_and_api(world, app, client, auth, monkeypatch):
    auth.login("admin_a")
    headers = bearer(app, "admin_a")
    page_url, api_url = f"/contracts/{world.contract}", f"/api/v1/contracts/{world.contract}"

    # The term ends on 2049-12-31; renewal opens in its last five years, not yet.
    renewal = client.get(api_url, headers=headers).get_json()["renewal"]
    assert renewal == {"opens": "2044-12-31", "window_years": 5, "max_years": 30, "open": False}
    page = text(client.get(page_url))
    assert "2044-12-31" in page and 'id="renew-form"' not in page
    r = client.post(f"{page_url}/renew", data={"source_document_id": world.doc_a, "reason": "延包"})
    assert r.status_code == 422 and "2044-12-31" in text(r)

    # A county that opens renewal thirty years before the end: the page offers it, the API
    # says it is open, and the renewal goes through.
    monkeypatch.setitem(app.config, "CONTRACT_RENEWAL_WINDOW_YEARS", 30)
    renewal = client.get(api_url, headers=headers).get_json()["renewal"]
    assert renewal["open"] is True and renewal["opens"] == "2019-12-31"
    assert 'id="renew-form"' in text(client.get(page_url))
    r = client.post(f"{page_url}/renew", data={"source_document_id": world.doc_a, "reason": "延包"})
    assert r.status_code == 302
    assert client.get(api_url, headers=headers).get_json()["term_end"] == "2079-12-31"


def test_contract_candidates_same_on_page_and_api(world, app, client, auth):
    second = fx.make(world.a, {})["contract_uid"]  # another household's contract, same collective
    auth.login("admin_a")
    page = text(client.get(f"/plots/{world.plot}"))
    api = client.get(f"/api/v1/plots/{world.plot}", headers=bearer(app, "admin_a")).get_json()
    offered = [c["contract_uid"] for c in api["contract_candidates"]]
    assert sorted(offered) == sorted([world.contract, second])
    assert world.contract_b not in offered  # another collective's contract is never offered
    assert _options(page, "contract_uid") == offered  # same contracts, same order
    codes = {c["contract_uid"]: c["cbhtbm"] for c in api["contract_candidates"]}
    assert codes[world.contract] == world.cbhtbm and world.cbhtbm in page
    # The new-plot form offers the very same list.
    form = text(client.get(f"/collectives/{world.a}/plots/new"))
    assert _options(form, "contract_uid") == offered

    # A farmer may not move plots: neither the page nor the API offers any contract.
    auth.logout()
    auth.login("farmer_a")
    assert client.get(f"/plots/{world.plot}").status_code == 200
    assert 'name="contract_uid"' not in text(client.get(f"/plots/{world.plot}"))
    api = client.get(f"/api/v1/plots/{world.plot}", headers=bearer(app, "farmer_a")).get_json()
    assert "contract_candidates" not in api
    assert history.current_of(LandContract, world.contract) is not None
