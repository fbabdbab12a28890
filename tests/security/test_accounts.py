"""Log-in throttling, argon2 re-hashing, personal tokens, password changes, admin parity and
what animators see (issue 11, findings 4, 5 and 10), through the app and its database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from sqlmodel import select

from tests.conftest import PASSWORD, AppHarness
from tests.web.support import csrf_of, login
from tierslieu.models import AccessEvent, LoginThrottle, Member
from tierslieu.services.login_throttle import ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES, delay_after

TOKEN_URL = "/api/v1/auth/token"


def _try(api: AppHarness, email: str, password: str) -> int:
    status: int = api.client.post(TOKEN_URL, data={"username": email, "password": password}).status_code
    return status


def _unlock(api: AppHarness, key: str) -> None:
    """Time passes: the lock on ``key`` is over (its count stays)."""
    with api.runtime.db.session(write=True) as session:
        row = session.get(LoginThrottle, key)
        assert row is not None and row.locked_until is not None
        row.locked_until = datetime.now(UTC) - timedelta(seconds=1)
        session.add(row)
        session.commit()


def test_delays_grow_after_the_free_failures() -> None:
    delays = [delay_after(n, 5) for n in range(1, 12)]
    assert delays[:5] == [0] * 5
    assert delays[5:] == [2, 4, 8, 16, 32, 64]
    assert delay_after(100, 5) == 15 * 60


def test_account_throttling_on_both_databases(api_any_db: AppHarness) -> None:
    api, email = api_any_db, "member@trilport.test"
    assert [_try(api, email, "faux") for _ in range(ACCOUNT_FREE_FAILURES + 1)] == [401] * (ACCOUNT_FREE_FAILURES + 1)
    locked = api.client.post(TOKEN_URL, data={"username": email, "password": PASSWORD})
    assert locked.status_code == 429 and 1 <= int(locked.headers["Retry-After"]) <= 2
    assert "tentatives" in locked.json()["detail"]
    _unlock(api, f"account:{email}")
    assert _try(api, email, "encore-faux") == 401  # the 7th failure: a longer lock
    with api.runtime.db.session() as session:
        row = session.get(LoginThrottle, f"account:{email}")
        assert row is not None and row.failures == ACCOUNT_FREE_FAILURES + 2
        lines = session.exec(select(AccessEvent).where(AccessEvent.decision == "account")).all()
        assert [line.reason for line in lines] == ["login_locked_account"] * 2
        assert {line.member_id for line in lines} == {api.users["member"].id}
        assert "4 s" in lines[-1].detail and "faux" not in lines[-1].detail
    _unlock(api, f"account:{email}")
    assert _try(api, email, PASSWORD) == 200
    with api.runtime.db.session() as session:
        assert session.get(LoginThrottle, f"account:{email}") is None  # a success clears the account


def test_address_throttling_spans_accounts(api: AppHarness) -> None:
    codes = [_try(api, f"inconnu-{i}@trilport.test", "faux") for i in range(ADDRESS_FREE_FAILURES + 1)]
    assert codes == [401] * (ADDRESS_FREE_FAILURES + 1)
    # Another account, never tried, from the same address: locked too, password unchecked.
    assert _try(api, "admin@trilport.test", PASSWORD) == 429
    with api.runtime.db.session() as session:
        reasons = {e.reason for e in session.exec(select(AccessEvent)).all()}
    assert "login_locked_address" in reasons


def test_web_login_form_is_throttled(api: AppHarness) -> None:
    page = api.client.get("/connexion")
    token = csrf_of(page.text)
    answers = [
        api.client.post("/connexion", data={"email": "staff@trilport.test", "password": "faux", "csrf_token": token})
        for _ in range(ACCOUNT_FREE_FAILURES + 2)
    ]
    assert [a.status_code for a in answers] == [401] * (ACCOUNT_FREE_FAILURES + 1) + [429]
    assert answers[-1].headers["Retry-After"] and "tentatives" in answers[-1].text
    assert "<form" in answers[-1].text  # the page, not a bare error


def test_login_rehashes_a_password_hashed_with_old_parameters(api: AppHarness) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with api.runtime.db.session(write=True) as session:
        member = session.get(Member, api.users["member"].id)
        assert member is not None
        member.password_hash = weak
        session.add(member)
        session.commit()
    assert _try(api, "member@trilport.test", PASSWORD) == 200
    with api.runtime.db.session() as session:
        member = session.get(Member, api.users["member"].id)
        assert member is not None and member.password_hash != weak
        assert not api.runtime.secrets.needs_rehash(member.password_hash or "")
    assert _try(api, "member@trilport.test", PASSWORD) == 200


# Finding 5: tokens ----------------------------------------------------------------------------


def _personal_token(api: AppHarness, who: str, **body: object) -> str:
    created = api.client.post(
        "/api/v1/auth/personal-tokens", json={"name": "script", **body}, headers=api.users[who].headers
    )
    assert created.status_code == 201, created.text
    return str(created.json()["access_token"])


def test_personal_tokens_expire_and_are_listed_and_revoked_by_owner_and_admin(api: AppHarness) -> None:
    member, admin, staff = api.users["member"], api.users["admin"], api.users["staff"]
    created = api.client.post("/api/v1/auth/personal-tokens", json={"name": "sync"}, headers=member.headers)
    assert created.json()["expires_in"] == 90 * 24 * 3600
    too_long = api.client.post(
        "/api/v1/auth/personal-tokens", json={"name": "x", "expires_in_days": 3650}, headers=member.headers
    )
    assert too_long.status_code == 422
    token = str(created.json()["access_token"])
    listed = api.client.get(f"/api/v1/members/{member.id}/tokens", headers=member.headers).json()
    personal = [t for t in listed if t["kind"] == "personal"]
    assert len(personal) == 1 and personal[0]["name"] == "sync" and personal[0]["expires_at"]
    assert all("token" not in key and "hash" not in key for t in listed for key in t)
    assert api.client.get(f"/api/v1/members/{member.id}/tokens", headers=staff.headers).status_code == 403
    assert api.client.get(f"/api/v1/members/{member.id}/tokens", headers=admin.headers).status_code == 200
    url = f"/api/v1/members/{member.id}/tokens/{personal[0]['id']}"
    assert api.client.delete(url, headers=staff.headers).status_code == 403
    assert api.client.delete(url, headers=admin.headers).status_code == 204
    assert api.client.get("/api/v1/members/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # The owner revokes their own; another member's token id is not found under their id.
    second = _personal_token(api, "member")
    listed = api.client.get(f"/api/v1/members/{member.id}/tokens", headers=member.headers).json()
    second_id = next(t["id"] for t in listed if t["kind"] == "personal")
    other = api.client.delete(f"/api/v1/members/{staff.id}/tokens/{second_id}", headers=staff.headers)
    assert other.status_code == 404
    own = api.client.delete(f"/api/v1/members/{member.id}/tokens/{second_id}", headers=member.headers)
    assert own.status_code == 204
    assert api.client.get("/api/v1/members/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401


def test_changing_ones_password_needs_the_current_one_and_revokes_every_token(api: AppHarness) -> None:
    member = api.users["member"]
    personal = _personal_token(api, "member")
    url = f"/api/v1/members/{member.id}"
    missing = api.client.patch(url, json={"password": "nouveau-secret"}, headers=member.headers)
    assert missing.status_code == 403 and missing.json()["code"] == "current_password_incorrect"
    wrong = api.client.patch(url, json={"password": "nouveau-secret", "current_password": "x"}, headers=member.headers)
    assert wrong.status_code == 403
    assert _try(api, member.email, "nouveau-secret") == 401
    ok = api.client.patch(
        url, json={"password": "nouveau-secret", "current_password": PASSWORD}, headers=member.headers
    )
    assert ok.status_code == 200
    for token in (member.token, personal):
        assert api.client.get("/api/v1/members/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _try(api, member.email, "nouveau-secret") == 200


def test_a_reset_by_staff_or_by_link_revokes_personal_tokens(api: AppHarness) -> None:
    member = api.users["member"]
    personal = _personal_token(api, "member")
    reset = api.client.patch(
        f"/api/v1/members/{member.id}", json={"password": "remis-a-zero"}, headers=api.users["staff"].headers
    )
    assert reset.status_code == 200
    assert api.client.get("/api/v1/members/me", headers={"Authorization": f"Bearer {personal}"}).status_code == 401
    # The one-time link of the front desk does the same.
    from tierslieu.web.password_reset import reset_token

    again = _personal_token_after_login(api, member.email, "remis-a-zero")
    with api.runtime.db.session() as session:
        row = session.get(Member, member.id)
        assert row is not None
        link = reset_token(api.runtime.secrets, row)
    form = api.client.get(f"/mot-de-passe/{link}")
    done = api.client.post(
        f"/mot-de-passe/{link}",
        data={"password": "par-le-lien", "confirm": "par-le-lien", "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert api.client.get("/api/v1/members/me", headers={"Authorization": f"Bearer {again}"}).status_code == 401


def _personal_token_after_login(api: AppHarness, email: str, password: str) -> str:
    session_token = api.client.post(TOKEN_URL, data={"username": email, "password": password}).json()["access_token"]
    created = api.client.post(
        "/api/v1/auth/personal-tokens", json={"name": "x"}, headers={"Authorization": f"Bearer {session_token}"}
    )
    return str(created.json()["access_token"])


# Finding 10: admin parity, animators ------------------------------------------------------------


def test_staff_cannot_remove_an_admins_badge_through_the_api(api: AppHarness) -> None:
    admin, staff = api.users["admin"], api.users["staff"]
    added = api.client.post(f"/api/v1/members/{admin.id}/badges", json={"uid": "04A1B2C3"}, headers=admin.headers)
    assert added.status_code == 201
    refused = api.client.delete(f"/api/v1/members/{admin.id}/badges/04A1B2C3", headers=staff.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "cannot_change_admin"
    assert api.client.get(f"/api/v1/members/{admin.id}", headers=admin.headers).json()["badges"]
    assert api.client.delete(f"/api/v1/members/{admin.id}/badges/04A1B2C3", headers=admin.headers).status_code == 204


def test_animators_see_names_not_emails_or_badges(api: AppHarness) -> None:
    member, animator = api.users["member"], api.users["animator"]
    api.client.post(f"/api/v1/members/{member.id}/badges", json={"uid": "DEADBEEF"}, headers=api.users["staff"].headers)
    everyone = api.client.get("/api/v1/members", headers=animator.headers).json()
    seen = next(m for m in everyone if m["id"] == member.id)
    assert seen["name"] == "member" and seen["email"] is None and seen["badges"] is None
    one = api.client.get(f"/api/v1/members/{member.id}", headers=animator.headers).json()
    assert one["email"] is None and one["badges"] is None and one["trainings"] == []
    assert "DEADBEEF" not in api.client.get("/api/v1/members", headers=animator.headers).text
    mine = api.client.get(f"/api/v1/members/{animator.id}", headers=animator.headers).json()
    assert mine["email"] == animator.email  # their own account in full
    staff_view = api.client.get(f"/api/v1/members/{member.id}", headers=api.users["staff"].headers).json()
    assert staff_view["email"] == member.email and staff_view["badges"][0]["uid"] == "DEADBEEF"
    # On the web, the member pages (e-mails, badges) are staff pages.
    login(api.client, animator.email)
    assert api.client.get("/admin/membres").status_code == 403
    assert member.email not in api.client.get("/fablab").text


def test_staff_set_their_own_password_on_the_web_only_with_the_current_one(api: AppHarness) -> None:
    staff = api.users["staff"]
    login(api.client, staff.email)
    page = api.client.get(f"/admin/membres/{staff.id}")
    assert 'name="current_password"' in page.text
    url = f"/admin/membres/{staff.id}/mot-de-passe"
    data = {"password": "nouveau-secret", "csrf_token": csrf_of(page.text)}
    refused = api.client.post(url, data=data, follow_redirects=False)
    assert refused.status_code == 403 and "actuel" in refused.text
    done = api.client.post(url, data={**data, "current_password": PASSWORD}, follow_redirects=False)
    assert done.status_code == 303
    assert _try(api, staff.email, "nouveau-secret") == 200
    # Someone else's password: no current password asked (a front-desk reset).
    other = api.client.get(f"/admin/membres/{api.users['member'].id}")
    assert 'name="current_password"' not in other.text
