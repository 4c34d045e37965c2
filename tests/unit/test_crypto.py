import base64
import os
from types import SimpleNamespace

import pytest

from app.crypto import DecryptionError, Secret, decrypt, decrypt_field, encrypt, is_current, key_id, key_id_of

OLD, NEW = os.urandom(32), os.urandom(32)


def test_a_value_round_trips_for_its_user_and_field():
    stored = encrypt("sk-plant-1234", 7, "llm_api_key", [NEW])
    assert decrypt(stored, 7, "llm_api_key", [NEW]) == "sk-plant-1234"


def test_stored_value_names_the_format_and_key_and_hides_the_plaintext():
    stored = encrypt("sk-plant-1234", 7, "llm_api_key", [NEW])
    version, kid, nonce, sealed = stored.split(".")
    assert (version, kid) == ("pv1", key_id(NEW))
    assert "plant" not in stored
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 12


def test_same_value_encrypts_differently_each_time():
    assert encrypt("same", 1, "llm_api_key", [NEW]) != encrypt("same", 1, "llm_api_key", [NEW])


@pytest.mark.parametrize(("user_id", "field"), [(8, "llm_api_key"), (7, "discord_webhook_url")])
def test_value_moved_to_another_user_or_field_fails(user_id, field):
    stored = encrypt("sk-plant-1234", 7, "llm_api_key", [NEW])
    with pytest.raises(DecryptionError) as raised:
        decrypt(stored, user_id, field, [NEW])
    assert raised.value.reason == "tampered, or stored for another user or field"
    assert "sk-plant" not in str(raised.value)


def test_tampered_value_fails():
    stored = encrypt("sk-plant-1234", 7, "llm_api_key", [NEW])
    head, sealed = stored.rsplit(".", 1)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(DecryptionError):
        decrypt(f"{head}.{flipped}", 7, "llm_api_key", [NEW])


def test_value_under_a_removed_key_fails_with_its_own_reason():
    stored = encrypt("sk-plant-1234", 7, "llm_api_key", [OLD])
    with pytest.raises(DecryptionError) as raised:
        decrypt(stored, 7, "llm_api_key", [NEW])
    assert raised.value.reason == "no configured key fits"


def test_older_key_in_the_list_still_decrypts_and_is_not_current():
    stored = encrypt("sk-plant-1234", 7, "llm_api_key", [OLD])
    assert decrypt(stored, 7, "llm_api_key", [NEW, OLD]) == "sk-plant-1234"
    assert key_id_of(stored) == key_id(OLD)
    assert not is_current(stored, [NEW, OLD])
    assert is_current(encrypt("x", 7, "llm_api_key", [NEW, OLD]), [NEW, OLD])


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text-key",
        "pv2.abcdefgh.AAAA.AAAA",
        "pv1.short.AAAA.AAAA",
        "pv1.abcdefgh.!!!!.AAAA",
        "pv1.abcdefgh.AAAA",
    ],
)
def test_malformed_values_fail_cleanly(stored):
    with pytest.raises(DecryptionError) as raised:
        decrypt(stored, 7, "llm_api_key", [NEW])
    assert raised.value.reason == "unknown format"


def test_secret_keeps_its_value_out_of_repr_and_formatting():
    secret = Secret("sk-plant-1234")
    assert "1234" not in repr(secret)
    assert "1234" not in f"{secret} {secret!r} {secret:>20}"
    assert "1234" not in str([secret])
    assert secret.reveal() == "sk-plant-1234"
    assert secret.last4 == "1234"


def test_decrypt_field_reads_a_users_column():
    user = SimpleNamespace(id=3, discord_webhook_url=encrypt("https://hook", 3, "discord_webhook_url", [NEW]))
    assert decrypt_field(user, "discord_webhook_url", [NEW]) == "https://hook"
    assert decrypt_field(SimpleNamespace(id=3, llm_api_key=None), "llm_api_key", [NEW]) is None
