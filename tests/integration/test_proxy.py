"""Client addresses behind a load balancer: TRUSTED_PROXY_HOPS (docs/contracts.md)."""

from flask import request

from app.auth.throttling import Limit

from ..conftest import PASSWORD

BALANCER = "10.0.0.1"


def register(client, number, forwarded_for=None, peer=BALANCER):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(
        "/auth/register",
        data={"email": f"g{number}@example.com", "password": PASSWORD},
        headers=headers,
        environ_base={"REMOTE_ADDR": peer},
    ).status_code


def limited_app(make_app, hops):
    return make_app(config={"LOGIN_LIMITS": {"register": Limit(2, 3600)}}, TRUSTED_PROXY_HOPS=hops)


def test_behind_a_trusted_balancer_one_person_does_not_lock_out_the_next(make_app):
    app = limited_app(make_app, hops=1)

    first_person = [register(app.test_client(), n, forwarded_for="203.0.113.1") for n in range(3)]
    newcomer = register(app.test_client(), 3, forwarded_for="203.0.113.2")

    assert first_person == [303, 303, 429]
    assert newcomer == 303


def test_an_untrusted_peer_cannot_change_its_throttle_key_with_a_forged_header(make_app):
    app = limited_app(make_app, hops=0)

    statuses = [register(app.test_client(), n, forwarded_for=f"198.51.100.{n}", peer="203.0.113.9") for n in range(3)]

    assert statuses == [303, 303, 429]


def test_a_client_behind_the_balancer_cannot_forge_an_earlier_hop(make_app):
    app = limited_app(make_app, hops=1)

    # The client sends its own X-Forwarded-For; the balancer appends the address it saw.
    statuses = [register(app.test_client(), n, forwarded_for=f"198.51.100.{n}, 203.0.113.1") for n in range(3)]

    assert statuses == [303, 303, 429]


def seen_by_the_app(app, **headers):
    @app.get("/test-proxy-view")
    def proxy_view():
        return {"address": request.remote_addr, "scheme": request.scheme}

    return app.test_client().get("/test-proxy-view", headers=headers, environ_base={"REMOTE_ADDR": BALANCER}).json


def test_a_trusted_balancer_sets_the_client_address_and_scheme(make_app):
    seen = seen_by_the_app(
        make_app(TRUSTED_PROXY_HOPS=1), **{"X-Forwarded-For": "203.0.113.1", "X-Forwarded-Proto": "https"}
    )
    assert seen == {"address": "203.0.113.1", "scheme": "https"}


def test_without_trusted_hops_forwarded_headers_are_ignored(make_app):
    seen = seen_by_the_app(make_app(), **{"X-Forwarded-For": "203.0.113.1", "X-Forwarded-Proto": "https"})
    assert seen == {"address": BALANCER, "scheme": "http"}
