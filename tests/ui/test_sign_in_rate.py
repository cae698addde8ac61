"""One client address may try only so many sign-ins a minute, whichever accounts it tries."""

import pytest
from pydantic import SecretStr

from scimgate.config import Settings
from scimgate.domain import admins
from scimgate.scim.throttle import Throttle
from scimgate.storage.database import Database

from ..conftest import TEST_LOG_KEYS
from .conftest import Site, csrf_token


@pytest.fixture
def settings(database: Database) -> Settings:
    """The test settings with a sign-in rate of 3 a minute."""
    return Settings(
        database_url=database.engine.url.render_as_string(hide_password=False),
        log_keys=SecretStr(TEST_LOG_KEYS),
        admin_sign_in_per_minute=3,
    )


def test_password_spraying_from_one_address_is_slowed_to_the_rate(site: Site) -> None:
    site.org("acme")
    for name in ("alice", "bob", "carol", "dave"):
        site.admin(name, "acme")
    with site.http() as client:
        statuses = []
        for name in ("alice", "bob", "carol", "dave"):
            token = csrf_token(client.get("/admin/login").text)
            data = {"csrf_token": token, "username": name, "password": "Winter2026!!!"}
            answer = client.post("/admin/login", data=data)
            statuses.append(answer.status_code)
        # Three wrong guesses are answered as such; the fourth is not even checked.
        assert statuses == [401, 401, 401, 429]
        assert int(answer.headers["retry-after"]) >= 1
        assert "Too many sign-in attempts" in answer.text
        # None of the accounts was locked by the spraying, and none was guessed.
        with site.database.transaction() as session:
            assert all(a.locked_until is None for a in admins.list_all(session))


def test_the_bucket_table_forgets_full_buckets_past_its_size() -> None:
    now = [0.0]
    throttle = Throttle(rate=1.0, burst=2, clock=lambda: now[0])
    for key in range(Throttle.MAX_KEYS):
        throttle.take(f"10.0.{key // 256}.{key % 256}")
    now[0] = 10.0  # every bucket has refilled
    assert throttle.take("192.0.2.1") == 0.0
    # The full buckets were dropped; an address that just spent its burst keeps its count.
    assert len(throttle._buckets) == 1
    assert throttle.take("192.0.2.1") == 0.0
    assert throttle.take("192.0.2.1") > 0
