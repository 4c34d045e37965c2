"""User text (a plant's name) made inert for each notification format, so a name such as
`[phish](https://example.org)`, `@everyone` or `# BIG` reads as itself and never becomes a
link, a mention, a heading or code. One function per format; every channel uses its own.
"""

import html
import string

_PUNCTUATION = frozenset(string.punctuation)
_LINE_BREAKS = str.maketrans({"\r": " ", "\n": " ", "\u2028": " ", "\u2029": " "})
# https://core.telegram.org/bots/api#markdownv2-style
_TELEGRAM = frozenset("_*[]()~`>#+-=|{}.!\\")


def _one_line(text: str) -> str:
    """No line breaks or control characters: a name cannot start a heading or a quote."""
    return "".join(ch for ch in text.translate(_LINE_BREAKS) if ch >= " " and ch != "\x7f")


def _backslashed(text: str, special: frozenset[str], limit: int | None) -> str:
    """Backslash before each special character; cut to `limit` characters without ever
    splitting an escape (a lone trailing backslash would escape what follows)."""
    out, length = [], 0
    for ch in _one_line(text):
        piece = f"\\{ch}" if ch in special else ch
        if limit is not None and length + len(piece) > limit:
            break
        out.append(piece)
        length += len(piece)
    return "".join(out)


def plain_text(text: str) -> str:
    """Plain-text bodies (ntfy, Gotify, email, webhooks): one line, no control characters."""
    return _one_line(text)


def discord_markdown(text: str, limit: int | None = None) -> str:
    """Discord message content, embed titles and field values. Discord drops the backslash
    before any punctuation, so escaping all of it also stops auto-links (`https\\:`),
    mentions (`\\@everyone`, `\\<@id>`), emoji codes, spoilers and masked links."""
    return _backslashed(text, _PUNCTUATION, limit)


def commonmark(text: str, limit: int | None = None) -> str:
    """Markdown channels that follow CommonMark (ntfy with markdown on, Matrix `body`):
    every ASCII punctuation character may be backslash-escaped there."""
    return _backslashed(text, _PUNCTUATION, limit)


def telegram_markdown_v2(text: str, limit: int | None = None) -> str:
    """Telegram's MarkdownV2 parse mode, which refuses a message with an unescaped special."""
    return _backslashed(text, _TELEGRAM, limit)


def slack_mrkdwn(text: str) -> str:
    """Slack mrkdwn: `&`, `<` and `>` are the only escapes Slack defines, and `<` is what
    links and mentions (`<!everyone>`, `<https://x|text>`) need."""
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_text(text: str) -> str:
    """HTML bodies (email, Matrix `formatted_body`)."""
    return html.escape(_one_line(text), quote=True)
