"""Log in, accounts, badges and trainings through the HTTP API."""

from __future__ import annotations

from tests.conftest import PASSWORD, AppHarness


def test_login_returns_a_bearer_token_that_works(api: AppHarness) -> None:
    response = api.client.post("/api/v1/auth/token", data={"username": "member@trilport.test", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and len(body["access_token"]) > 30
    me = api.client.get("/api/v1/members/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "member@trilport.test"
    assert "password" not in me.json() and "password_hash" not in me.json()


def test_login_failure_is_a_french_problem_or_english_on_request(api: AppHarness) -> None:
    response = api.client.post("/api/v1/auth/token", data={"username": "member@trilport.test", "password": "wrong"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_credentials"
    assert "incorrect" in response.json()["detail"] and "mot de passe" in response.json()["detail"]
    response = api.client.post(
        "/api/v1/auth/token",
        data={"username": "member@trilport.test", "password": "wrong"},
        headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"},
    )
    assert response.json()["detail"] == "Incorrect e-mail or password."


def test_tokens_are_stored_hashed(api: AppHarness) -> None:
    from sqlmodel import select

    from tierslieu.models import ApiToken, Member

    token = api.users["member"].token
    with api.runtime.db.session() as session:
        hashes = {row.token_hash for row in session.exec(select(ApiToken)).all()}
        assert token not in hashes
        member = session.get(Member, api.users["member"].id)
        assert member is not None and member.password_hash is not None
        assert member.password_hash.startswith("$argon2")


def test_logout_revokes_the_token(api: AppHarness) -> None:
    user = api.user("member", email="leaving@trilport.test")
    assert api.client.post("/api/v1/auth/logout", headers=user.headers).status_code == 204
    assert api.client.get("/api/v1/members/me", headers=user.headers).status_code == 401


def test_staff_creates_members_and_only_admins_grant_admin(api: AppHarness) -> None:
    staff, admin = api.users["staff"].headers, api.users["admin"].headers
    body = {
        "name": "Jeanne Martin",
        "email": "Jeanne.Martin@Example.fr",
        "roles": ["member"],
        "password": "s3cret-pass",
    }
    created = api.client.post("/api/v1/members", json=body, headers=staff)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "jeanne.martin@example.fr"
    again = api.client.post("/api/v1/members", json=body, headers=staff)
    assert again.status_code == 409 and again.json()["code"] == "email_taken"
    boss = {"name": "Boss", "email": "boss@example.fr", "roles": ["admin"], "password": "s3cret-pass"}
    denied = api.client.post("/api/v1/members", json=boss, headers=staff)
    assert denied.status_code == 403 and denied.json()["code"] == "cannot_grant_admin"
    assert api.client.post("/api/v1/members", json=boss, headers=admin).status_code == 201


def test_member_edits_self_but_not_own_roles(api: AppHarness) -> None:
    member = api.users["member"]
    ok = api.client.patch(f"/api/v1/members/{member.id}", json={"name": "Nouveau nom"}, headers=member.headers)
    assert ok.status_code == 200 and ok.json()["name"] == "Nouveau nom"
    denied = api.client.patch(f"/api/v1/members/{member.id}", json={"roles": ["staff"]}, headers=member.headers)
    assert denied.status_code == 403
    assert api.client.get("/api/v1/members/me", headers=member.headers).json()["roles"] == ["member"]


def test_badges_are_normalized_and_unique(api: AppHarness) -> None:
    staff = api.users["staff"].headers
    alice, bob = api.users["member"].id, api.users["animator"].id
    first = api.client.post(f"/api/v1/members/{alice}/badges", json={"uid": "74-10-37-94"}, headers=staff)
    assert first.status_code == 201 and first.json()["uid"] == "74103794"
    same = api.client.post(f"/api/v1/members/{bob}/badges", json={"uid": "74103794"}, headers=staff)
    assert same.status_code == 409 and same.json()["code"] == "badge_taken"
    lower = api.client.post(f"/api/v1/members/{bob}/badges", json={"uid": "74:10:37:94"}, headers=staff)
    assert lower.status_code == 409
    bad = api.client.post(f"/api/v1/members/{bob}/badges", json={"uid": "zz??"}, headers=staff)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_badge_uid"
    assert api.client.get(f"/api/v1/members/{alice}", headers=staff).json()["badges"] == [
        {"uid": "74103794", "label": ""}
    ]
    assert api.client.delete(f"/api/v1/members/{alice}/badges/74-10-37-94", headers=staff).status_code == 204
    # Once removed, the badge can go to someone else.
    assert api.client.post(f"/api/v1/members/{bob}/badges", json={"uid": "74103794"}, headers=staff).status_code == 201


def test_trainings_granted_by_animators(api: AppHarness) -> None:
    member = api.users["member"]
    animator = api.users["animator"].headers
    response = api.client.post(
        f"/api/v1/members/{member.id}/trainings",
        json={"training": "impression-3d", "expires_on": "2027-06-30"},
        headers=animator,
    )
    assert response.status_code == 201
    got = api.client.get("/api/v1/members/me", headers=member.headers).json()
    assert got["trainings"] == [{"training": "impression-3d", "expires_on": "2027-06-30"}]
    denied = api.client.post(f"/api/v1/members/{member.id}/trainings", json={"training": "x"}, headers=member.headers)
    assert denied.status_code == 403


def test_staff_cannot_take_over_an_admin_account(api: AppHarness) -> None:
    admin = api.users["admin"]
    staff = api.users["staff"].headers
    response = api.client.patch(f"/api/v1/members/{admin.id}", json={"password": "taken-over-123"}, headers=staff)
    assert response.status_code == 403 and response.json()["code"] == "cannot_change_admin"
    badge = api.client.post(f"/api/v1/members/{admin.id}/badges", json={"uid": "A1B2C3D4"}, headers=staff)
    assert badge.status_code == 403
    login = api.client.post("/api/v1/auth/token", data={"username": admin.email, "password": "taken-over-123"})
    assert login.status_code == 401
