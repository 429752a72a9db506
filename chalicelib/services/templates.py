"""Saved replies: checking a template's placeholders, and filling them in for one mention."""

from __future__ import annotations

from string import Formatter

from chalicelib.errors import MalformedRequest
from chalicelib.models import Mention

PLACEHOLDERS = ("name", "handle", "agent")
"""What a template may name: `{name}` (the author's display name, else their handle),
`{handle}` (`@handle` where the platform has handles, else the name) and `{agent}` (who sends
the reply, for a signature such as `^{agent}`); `{{` and `}}` are braces."""


AUTOMATIC_PLACEHOLDERS = {
    "away_message": ("name", "handle", "opens"),
    "satisfaction_survey": ("name", "handle"),
}
"""What the messages Switchboard sends by itself may name: the customer as a template does, and
in AWAY_MESSAGE `{opens}`, when the department opens next (chalicelib/services/away.py)."""


def check_placeholders(
    text: str, field: str = "text", allowed: tuple[str, ...] = PLACEHOLDERS
) -> None:
    """MalformedRequest naming what a template's text (its `field`) cannot have: placeholders
    other than `allowed`, format specs or conversions, unbalanced braces."""
    try:
        fields = list(Formatter().parse(text))
    except ValueError as exc:
        braces = "write {{ and }} for braces"
        raise MalformedRequest(f"template {field}: {exc} ({braces})") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            known = ", ".join(f"{{{p}}}" for p in allowed)
            raise MalformedRequest(f"template {field}: unknown placeholder {{{name}}}; use {known}")


def render(text: str, mention: Mention, agent: str) -> str:
    """A template's text for one mention's author, sent by `agent` (the caller: a name, or
    an IAM identity, of which the last part of its ARN, the user or session name, is shown)."""
    return text.format(**addressed(mention), agent=agent.rsplit("/", 1)[-1])


def addressed(mention: Mention) -> dict[str, str]:
    """How a reply names the mention's author: `name` (display name, else handle, else
    "there") and `handle` (`@handle`, else the name)."""
    author = mention.author
    name = author.name or author.handle or "there"
    return {"name": name, "handle": f"@{author.handle}" if author.handle else name}
