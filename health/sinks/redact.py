"""Keep webhook secrets out of logs, diagnostics and exception text (docs/CONTRACT.md §5).

A webhook URL *is* the credential: anyone holding it can post. What stays readable is what an
operator needs to tell two sinks apart — the scheme, the host and, for Discord-style URLs, the
webhook id — never the token, the query string or user info.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

MASK = "***"

# ".../webhooks/<id>/<token>" (Discord, with or without an /api/vN prefix, and look-alikes).
_WEBHOOK_PATH = re.compile(r"^(?P<prefix>.*?/webhooks/[^/?#]+)/[^/?#]+")
# The same shape anywhere in free text: a last line of defence for URLs we were not told about.
_WEBHOOK_IN_TEXT = re.compile(r"(/webhooks/[0-9A-Za-z_-]+/)[0-9A-Za-z_.~%-]+")
# Derived fragments shorter than this are not masked on their own: masking "v1" or "hook"
# everywhere would wreck the text and protect nothing.
_MIN_FRAGMENT = 6


def redact_url(url: str) -> str:
    """``https://discord.com/api/webhooks/123/abc?x=1`` -> ``https://discord.com/api/webhooks/123/***``.

    Any other URL keeps only ``scheme://host[:port]/***``; something that is not a URL at all
    becomes ``***`` (it might be a token pasted into the wrong variable).
    """
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError:
        return MASK
    host = parts.hostname
    if not parts.scheme or not host:
        return MASK
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    match = _WEBHOOK_PATH.match(parts.path)
    if match:
        return f"{parts.scheme}://{netloc}{match['prefix']}/{MASK}"
    return f"{parts.scheme}://{netloc}/{MASK}"


def secret_fragments(url: str) -> tuple[str, ...]:
    """The pieces of ``url`` that must never be shown, each also on its own.

    Libraries re-render URLs (percent-encoding, an added ``?wait=true``), so matching only the
    whole URL is not enough: the token, the query and the password are masked wherever they
    appear.
    """
    url = str(url).strip()
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return (url,) if url else ()
    fragments = [url]
    match = _WEBHOOK_PATH.match(parts.path)
    if match:
        fragments.append(parts.path[len(match["prefix"]) + 1 :].split("/")[0])
    else:
        segments = [s for s in parts.path.split("/") if s]
        if segments:
            fragments.append(segments[-1])
        if len(parts.path) > 1:
            fragments.append(parts.path)
    fragments += [parts.query, parts.fragment, password or ""]
    fragments += [value for pair in parts.query.split("&") for value in pair.split("=")[1:]]
    return tuple(dict.fromkeys(f for f in fragments if len(f) >= _MIN_FRAGMENT))


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Mask every secret in ``text``; URLs become their :func:`redact_url` form.

    ``secrets`` are webhook URLs or bare tokens. Bare secrets are masked whatever their
    length; pieces derived from a URL only when long enough to be meaningful.
    """
    text = str(text)
    replacements: dict[str, str] = {}
    for secret in secrets:
        secret = str(secret).strip() if secret else ""
        if not secret:
            continue
        if "://" in secret:
            replacements[secret] = redact_url(secret)
            for fragment in secret_fragments(secret)[1:]:
                replacements.setdefault(fragment, MASK)
        else:
            replacements[secret] = MASK
    for secret, mask in list(replacements.items()):
        encoded = quote(secret, safe="")
        if encoded != secret:
            replacements.setdefault(encoded, mask)
    for secret in sorted(replacements, key=len, reverse=True):
        text = text.replace(secret, replacements[secret])
    return _WEBHOOK_IN_TEXT.sub(rf"\g<1>{MASK}", text)
