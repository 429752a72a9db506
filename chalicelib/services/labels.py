"""Author labels: what the brand's people know about someone (`vip`, `press`, `abusive`…),
kept per author and put on each of their mentions as they are routed, for the rules
(`author.labels`) and for whoever answers."""

from __future__ import annotations

from chalicelib.errors import MalformedRequest
from chalicelib.models import MAX_LABELS, AuthorLabels, LabelRequest
from chalicelib.stores.mentions import MentionStore


def relabel(store: MentionStore, author: str, request: LabelRequest) -> AuthorLabels:
    """Add and remove an author's labels; MalformedRequest when they would carry more than
    MAX_LABELS."""
    after = (set(store.labels_of(author)) | set(request.add)) - set(request.remove)
    if len(after) > MAX_LABELS:
        raise MalformedRequest(
            f"{author} would carry {len(after)} labels; an author carries {MAX_LABELS} at most"
        )
    return AuthorLabels(author=author, labels=store.label(author, request.add, request.remove))
