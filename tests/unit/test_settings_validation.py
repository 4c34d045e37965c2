from pathlib import Path

import pytest

from app.settings.validation import InvalidURL, check_discord_webhook_url, check_llm_base_url

TOKEN = "aB3_" * 17  # 68 characters, like a real webhook token
ETC_HOSTS_LOOPBACK_NAMES = [
    name
    for line in Path("/etc/hosts").read_text().splitlines()
    if line.startswith("127.")
    for name in line.split("#")[0].split()[1:]
]
WEBHOOK = f"https://discord.com/api/webhooks/123456789012345678/{TOKEN}"


@pytest.mark.parametrize("production", [True, False])
def test_a_discord_webhook_url_is_accepted(production):
    assert check_discord_webhook_url(f"  {WEBHOOK} ", production) == WEBHOOK


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "discord.com/api/webhooks/1/" + TOKEN,
        "ftp://discord.com/api/webhooks/1/" + TOKEN,
        "https://discord.com/api/webhooks/abc/" + TOKEN,
        "https://discord.com/api/webhooks/1/short",
        "https://discord.com/channels/1/2",
        WEBHOOK + "?wait=true",
        WEBHOOK + "#x",
        "https://user:pw@discord.com/api/webhooks/1/" + TOKEN,
        "https://discord.com:99999/api/webhooks/1/" + TOKEN,
        "https://discord.com/api/webhooks/1/" + TOKEN + " x",
    ],
)
def test_malformed_webhook_urls_are_refused_without_echoing_them(url):
    with pytest.raises(InvalidURL) as raised:
        check_discord_webhook_url(url, production=False)
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize(
    "url", ["http://discord.com/api/webhooks/1/" + TOKEN, "https://evil.example/api/webhooks/1/" + TOKEN]
)
def test_production_wants_https_on_a_discord_host(url):
    check_discord_webhook_url(url, production=False)
    with pytest.raises(InvalidURL):
        check_discord_webhook_url(url, production=True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
        (" https://openrouter.ai/api/v1 ", "https://openrouter.ai/api/v1"),
    ],
)
def test_https_llm_base_urls_are_accepted_everywhere(url, expected):
    assert check_llm_base_url(url, production=True) == expected
    assert check_llm_base_url(url, production=False) == expected


@pytest.mark.parametrize(
    "url", ["http://localhost:11434/v1", "http://127.0.0.1:8080/v1", "https://10.0.0.5/v1", "https://ollama.local/v1"]
)
def test_local_or_plain_http_llm_urls_need_the_operators_list_in_production(url):
    assert check_llm_base_url(url, production=False)
    with pytest.raises(InvalidURL):
        check_llm_base_url(url, production=True)
    host = url.split("//")[1].split(":")[0].split("/")[0]
    assert check_llm_base_url(url, production=True, allowed_hosts=[host.upper()])


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0x7f000001",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "127.1",
        "0",
        *ETC_HOSTS_LOOPBACK_NAMES,
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[fe80::1]",
        "[fc00::1]",
        "169.254.169.254",
    ],
)
def test_every_spelling_of_a_local_address_is_refused_in_production(host):
    with pytest.raises(InvalidURL, match="Local and private addresses"):
        check_llm_base_url(f"https://{host}/v1", production=True)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "api.openai.com/v1",
        "javascript:alert(1)",
        "https://",
        "https://k:secret@api.example/v1",
        "https://a.b/v1?x=1",
    ],
)
def test_bad_llm_base_urls_are_refused(url):
    with pytest.raises(InvalidURL):
        check_llm_base_url(url, production=False)
