"""Saved replies, kept in the rules table under pk `template` (sk: the template's id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from chalicelib.models import ReplyTemplate
from chalicelib.stores.keys import SORT_KEY_BYTES, storable

TEMPLATES_PK = "template"


class TemplateStore(Protocol):
    """The saved replies."""

    def put(self, template: ReplyTemplate) -> None:
        """Add or replace one."""
        ...

    def get(self, template_id: str) -> ReplyTemplate | None:
        """One, if there is such a template."""
        ...

    def all(self) -> list[ReplyTemplate]:
        """Every template, by id."""
        ...

    def delete(self, template_id: str) -> bool:
        """Remove one; False when there was none."""
        ...


class DynamoTemplateStore:
    """Templates in the rules table."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def put(self, template: ReplyTemplate) -> None:
        """PutItem."""
        item: dict[str, Any] = {
            **_key(template.id),
            "text": {"S": template.text},
            "translations": {"M": {k: {"S": v} for k, v in template.translations.items()}},
            "updated_by": {"S": template.updated_by},
            "updated_at": {"S": template.updated_at.isoformat()},
        }
        if template.language is not None:
            item["language"] = {"S": template.language}
        self._client.put_item(TableName=self._table, Item=item)

    def get(self, template_id: str) -> ReplyTemplate | None:
        """GetItem."""
        if not storable(template_id, SORT_KEY_BYTES):
            return None
        item = self._client.get_item(TableName=self._table, Key=_key(template_id)).get("Item")
        return _template(item) if item else None

    def all(self) -> list[ReplyTemplate]:
        """Query the `template` partition (sorted by id)."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": TEMPLATES_PK}},
        )
        return [_template(item) for page in pages for item in page["Items"]]

    def delete(self, template_id: str) -> bool:
        """DeleteItem, saying whether there was one."""
        if not storable(template_id, SORT_KEY_BYTES):
            return False
        old = self._client.delete_item(
            TableName=self._table, Key=_key(template_id), ReturnValues="ALL_OLD"
        )
        return "Attributes" in old


def _key(template_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": TEMPLATES_PK}, "sk": {"S": template_id}}


def _template(item: dict[str, Any]) -> ReplyTemplate:
    return ReplyTemplate(
        id=item["sk"]["S"],
        text=item["text"]["S"],
        language=item.get("language", {}).get("S"),
        translations={k: v["S"] for k, v in item.get("translations", {}).get("M", {}).items()},
        updated_by=item["updated_by"]["S"],
        updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
    )


class MemoryTemplateStore:
    """In-memory twin of DynamoTemplateStore."""

    def __init__(self) -> None:
        self.templates: dict[str, ReplyTemplate] = {}

    def put(self, template: ReplyTemplate) -> None:
        """Keep it."""
        self.templates[template.id] = template

    def get(self, template_id: str) -> ReplyTemplate | None:
        """Look it up."""
        return self.templates.get(template_id)

    def all(self) -> list[ReplyTemplate]:
        """By id."""
        return [self.templates[i] for i in sorted(self.templates)]

    def delete(self, template_id: str) -> bool:
        """Forget it."""
        return self.templates.pop(template_id, None) is not None
