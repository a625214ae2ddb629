"""Property-based tests of the query parameters the admin site and the API read (issue 12, attack 7), with
Hypothesis: any text, any whole number, any date of the calendar and any instant with any offset, in the date,
unit and page parameters of the search, its CSV export, the dashboard and the API's list, is answered with a page
or a clear 4xx, never a server error. Derandomized and bounded."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from admin_web.api.tokens import issue_token
from models import utcnow
from tests.admin_web.conftest import World
from tests.fuzzing import bounded

FUZZ = bounded(60)

OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
DAYS = st.dates().map(dt.date.isoformat)
INSTANTS = st.datetimes(timezones=OFFSETS).map(dt.datetime.isoformat)
NUMBERS = st.integers(min_value=-(10**40), max_value=10**40).map(str)
VALUE = st.one_of(DAYS, INSTANTS, NUMBERS, st.text(max_size=30),
                  st.sampled_from(["9999-12-31", "0001-01-01", "0001-01-01T00:00:00+14:00", "²", "١٢", "-0", "1e9"]))


def _params(names: tuple[str, ...]):  # type: ignore[no-untyped-def]
    return st.dictionaries(st.sampled_from(names), VALUE, max_size=len(names))


@FUZZ
@given(params=_params(("date_from", "date_to", "unit_id", "page", "state", "q")))
def test_search_and_its_export_answer_any_parameters(login_as, world: World, params: dict[str, str]) -> None:
    client = login_as(world.dispatcher)
    assert client.get("/admin/search", query_string=params).status_code in (200, 400)
    export = client.get("/admin/search.csv", query_string=params)
    assert export.status_code in (200, 400)
    export.get_data()  # streamed: a failure would come while it is read


@FUZZ
@given(params=_params(("start", "end", "district")))
def test_the_dashboard_answers_any_period(login_as, world: World, params: dict[str, str]) -> None:
    response = login_as(world.leader).get("/admin/dashboard/", query_string=params)
    assert response.status_code in (200, 400, 404)


@FUZZ
@given(params=_params(("created_from", "created_to", "updated_from", "unit", "page", "per_page", "cursor")))
def test_the_api_list_answers_any_parameters(client, world: World, params: dict[str, str]) -> None:
    raw = issue_token(world.session, world.dispatcher, utcnow()).raw
    world.session.commit()
    response = client.get("/api/v1/petitions", query_string=params, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code in (200, 422), (params, response.get_data(as_text=True))
