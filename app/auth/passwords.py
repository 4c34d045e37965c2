"""The password policy, in one function used by registration, password change and the CLI.

At least 10 characters (no composition rules, as NIST SP 800-63B and ASVS 6.2 advise),
at most 1,024 (so hashing stays cheap), and not one of the 30,000 most common passwords
that zxcvbn ships (taken from real leaks), compared case-insensitively. A password that
is the account's own email, or its name part, is refused too.
"""

from functools import lru_cache

MIN_LENGTH = 10
MAX_LENGTH = 1024


@lru_cache(maxsize=1)
def common_passwords():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password, email=None):
    """What is wrong with `password` as a new password, in words for the user; None if it is fine."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    folded = password.strip().lower()
    if folded in common_passwords():
        return "That password is one of the most common ones. Choose a less guessable one."
    email = (email or "").strip().lower()
    if email and folded in {email, email.partition("@")[0]}:
        return "Do not use your email address as your password."
    return None
