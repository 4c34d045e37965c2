import pytest

from app.auth.passwords import common_passwords, password_problem


@pytest.mark.parametrize(
    ("password", "email", "problem"),
    [
        (None, None, "at least 10"),
        ("", None, "at least 10"),
        ("nine char", None, "at least 10"),
        ("x" * 1025, None, "at most 1024"),
        ("qwertyuiop", None, "most common"),
        ("QWERTYUIOP", None, "most common"),
        (" 1234567890 ", None, "most common"),
        ("iloveyou12", None, "most common"),
        ("fern.lover@example.com", "Fern.Lover@example.com", "email address"),
        ("fern.lover", "fern.lover@example.com", "email address"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, email, problem):
    assert problem in password_problem(password, email)


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "exactly10!", "x" * 1024, "ünïcødé pässwörd", "fern.lover2 is long"],
)
def test_long_uncommon_passwords_pass(password):
    assert password_problem(password, "fern.lover@example.com") is None


def test_the_common_list_is_large_and_includes_passwords_long_enough_to_pass_the_length_rule():
    passwords = common_passwords()
    assert len(passwords) >= 20_000
    assert sum(len(p) >= 10 for p in passwords) >= 1_000


def test_outside_the_test_suite_passwords_get_full_cost_scrypt():
    """The suite hashes cheaply (tests/conftest.py); the app itself uses Werkzeug's scrypt N=2**15."""
    from unittest import mock

    from app.auth import users

    assert users.DEFAULT_PASSWORD_METHOD == "scrypt"
    with mock.patch.object(users, "PASSWORD_METHOD", users.DEFAULT_PASSWORD_METHOD):
        assert users.hash_password("correct horse battery").startswith("scrypt:32768:8:1$")
