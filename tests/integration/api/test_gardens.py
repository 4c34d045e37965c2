"""The gardens API: my gardens, inviting (owners only) and accepting by URL (issue 19)."""

from datetime import UTC, datetime, timedelta

import pytest

from ...conftest import make_user
from ..garden_helpers import invitations_of, make_garden, member_of
from .conftest import ApiClient, make_token

PUBLIC = "https://plants.example"


@pytest.fixture
def app(make_app):
    return make_app(PUBLIC_URL=PUBLIC)


@pytest.fixture
def bea(app):
    uid = make_user(app, email="bea@example.com")
    return ApiClient(app.test_client(), make_token(app, uid), uid)


def soon(**delta):
    return (datetime.now(UTC) + timedelta(**delta)).isoformat().replace("+00:00", "Z")


def test_my_gardens_with_my_role(app, api, bea):
    shared = make_garden(app, bea.user_id, "Community plot", ana=(api.user_id, "viewer"))
    make_garden(app, bea.user_id, "Bea's own")
    response = api.get("/api/v1/gardens")
    assert response.status_code == 200
    items = response.json["items"]
    assert {"id": shared, "name": "Community plot", "role": "viewer"} in items
    assert all(set(item) == {"id", "name", "role"} for item in items)
    assert "Bea's own" not in [item["name"] for item in items]


def test_an_owner_invites_and_a_token_accepts(app, api, bea):
    garden = make_garden(app, api.user_id, "Plot")
    response = api.post(f"/api/v1/gardens/{garden}/invitations", json={"role": "sitter", "until": soon(days=5)})
    assert response.status_code == 201
    url = response.json["url"]
    assert url.startswith(f"{PUBLIC}/invitations/")
    assert response.json["emailed"] is False

    accepted = bea.post("/api/v1/invitations/accept", json={"url": url})
    assert accepted.status_code == 200
    assert accepted.json["garden_id"] == garden
    assert accepted.json["role"] == "sitter"
    assert accepted.json["name"] == "Plot"
    assert accepted.json["until"].endswith("Z")
    assert member_of(app, garden, bea.user_id).role == "sitter"

    again = make_user(app, email="cem@example.com")
    cem = ApiClient(app.test_client(), make_token(app, again), again)
    used = cem.post("/api/v1/invitations/accept", json={"url": url})
    assert used.status_code == 422
    assert used.json["detail"][0]["message"].startswith("This invitation has already been used.")


@pytest.mark.parametrize("role", ["caretaker", "sitter", "viewer"])
def test_only_owners_invite(app, api, bea, role):
    until = datetime.now(UTC) + timedelta(days=2) if role == "sitter" else None
    garden = make_garden(app, api.user_id, "Plot", bea=(bea.user_id, role, until))
    response = bea.post(f"/api/v1/gardens/{garden}/invitations", json={"role": "owner"})
    assert response.status_code == 403
    assert response.json == {"error": "forbidden", "detail": "Only the garden's owners can manage its members."}
    assert invitations_of(app, garden) == []


def test_someone_elses_garden_is_not_found(app, api, bea):
    garden = make_garden(app, bea.user_id, "Theirs")
    for path in (f"/api/v1/gardens/{garden}/invitations", "/api/v1/gardens/424242/invitations"):
        response = api.post(path, json={"role": "viewer"})
        assert response.status_code == 404
        assert response.json["error"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "boss"}, "role"),
        ({}, "role"),
        ({"role": 3}, "role"),
        ({"role": "viewer", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"role": "viewer", "expires_at": soon(days=400)}, "expires_at"),
        ({"role": "viewer", "expires_at": "tomorrow"}, "expires_at"),
        ({"role": "sitter"}, "until"),
        ({"role": "sitter", "until": "2001-01-01T00:00:00Z"}, "until"),
        ({"role": "viewer", "until": soon(days=3)}, "until"),
        ({"role": "viewer", "email": "x" * 10_000}, "email"),
        ({"role": "viewer", "email": "nobody"}, "email"),
        ({"role": "viewer", "colour": "green"}, "colour"),
    ],
)
def test_a_bad_invitation_is_refused(app, api, body, field):
    garden = make_garden(app, api.user_id, "Plot")
    response = api.post(f"/api/v1/gardens/{garden}/invitations", json=body)
    assert response.status_code == 422, response.json
    assert field in [problem["field"] for problem in response.json["detail"]]
    assert invitations_of(app, garden) == []


def test_malformed_json_is_a_bad_request(app, api):
    garden = make_garden(app, api.user_id, "Plot")
    for data in ("{", "[]", '"role"'):
        response = api.post(
            f"/api/v1/gardens/{garden}/invitations", data=data, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json["error"] == "bad_request"
    assert (
        api.post("/api/v1/invitations/accept", data="{", headers={"Content-Type": "application/json"}).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"{PUBLIC}/invitations/{'A' * 43}", 404),
        ("https://evil.example/nothing", 404),
        ("x" * 3000, 422),
        ("", 422),
    ],
)
def test_a_forged_url_is_refused(app, api, url, status):
    response = api.post("/api/v1/invitations/accept", json={"url": url})
    assert response.status_code == status


def test_a_revoked_or_expired_invitation_is_refused(app, api, bea, client, clock):
    garden = make_garden(app, api.user_id, "Plot")
    revoked = api.post(f"/api/v1/gardens/{garden}/invitations", json={"role": "viewer"}).json["url"]
    expiring = api.post(
        f"/api/v1/gardens/{garden}/invitations", json={"role": "viewer", "expires_at": soon(hours=1)}
    ).json["url"]
    from app.extensions import db
    from app.models import GardenInvitation

    with app.app_context():
        first = db.session.scalars(db.select(GardenInvitation).order_by(GardenInvitation.id)).first()
        first.revoked_at = datetime.now(UTC)
        db.session.commit()
    response = bea.post("/api/v1/invitations/accept", json={"url": revoked})
    assert response.status_code == 422
    assert "withdrawn" in response.json["detail"][0]["message"]
    clock.shift(timedelta(hours=2))
    response = bea.post("/api/v1/invitations/accept", json={"url": expiring})
    assert response.status_code == 422
    assert "expired" in response.json["detail"][0]["message"]
    assert member_of(app, garden, bea.user_id) is None
