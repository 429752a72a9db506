"""Answering through Switchboard: replies, approvals and saved replies."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote

from chalicelib.api_client import ApiClient, ApiError
from chalicelib.cli_text import closed_by, gist, shortened, stamp, time_left
from chalicelib.commands.api import api_client, iso_stamp, mention_path
from chalicelib.models import MentionRecord


def cmd_reply(args: argparse.Namespace, out: TextIO) -> int:
    """Answer a mention; waits briefly and shows where the reply got to. A case someone
    answered or closed already is answered all the same, with a note saying so."""
    given = [args.text, args.template, args.whatsapp_template]
    if sum(value is not None for value in given) != 1:
        print(
            "error: give the reply's TEXT, --template or --whatsapp-template, one of them",
            file=sys.stderr,
        )
        return 2
    if args.whatsapp_template is not None and not args.language:
        print(
            "error: --whatsapp-template needs the --language it was approved in (en_US)",
            file=sys.stderr,
        )
        return 2
    client = api_client(args)
    _note_if_handled(client, args.mention_id)
    body: dict[str, Any] = {"mention_id": args.mention_id}
    if args.whatsapp_template is not None:
        body["whatsapp_template"] = {
            "name": args.whatsapp_template,
            "language": args.language,
            "parameters": args.param,
        }
    else:
        body |= {"text": args.text} if args.text is not None else {"template": args.template}
        if args.language:
            body["language"] = args.language
    if args.private:
        body["private"] = True
    if args.idempotency_key:
        body["idempotency_key"] = args.idempotency_key
    if args.force:
        body["force"] = True
    if args.survey:
        body["survey"] = True
    queued = client.call("POST", "/replies", body)
    print(f"{queued['reply_id']}: {queued['status']}", file=out)
    if queued["status"] == "pending":
        print(
            f"waits for someone else's approval: switchboard approve {queued['reply_id']}",
            file=out,
        )
        return 0
    return _follow_reply(client, queued["reply_id"], args.wait, out)


def _follow_reply(client: ApiClient, reply_id: str, wait: float, out: TextIO) -> int:
    """Wait up to `wait` seconds for a queued reply to be sent, and say where it got to."""
    reply: dict[str, Any] = {"status": "queued"}
    for _ in range(max(1, int(wait * 2))):
        reply = client.call("GET", f"/replies/{reply_id}")
        if reply["status"] not in ("queued", "sending"):
            break
        time.sleep(0.5)
    if reply["status"] == "sent":
        where = reply.get("platform_reply_url") or reply.get("platform_reply_id")
        print(f"sent to {reply['platform']}: {where}", file=out)
        also = [each for each in reply.get("answered", []) if each != reply["mention_id"]]
        if also:
            print("answered with it (off the SLA clock too):", file=out)
        for mention_id in also:  # what they said, so a different question is not missed
            print(f"  {mention_id}  {_said(client, mention_id)}", file=out)
        if reply.get("survey"):
            print("the satisfaction survey follows: their rating goes on the case", file=out)
    elif reply["status"] != "queued":
        print(f"{reply['status']}: {reply.get('last_error')}", file=out)
    return 0 if reply["status"] in ("sent", "queued", "sending") else 1


def _said(client: ApiClient, mention_id: str) -> str:
    """What a mention says, on one line; why not, when it cannot be read."""
    try:
        record = MentionRecord.model_validate(client.call("GET", mention_path(mention_id)))
    except ApiError as exc:
        return f"(cannot be read: {exc})"
    return gist(record.message.mention)


def _note_if_handled(client: ApiClient, mention_id: str) -> None:
    """Tell the agent on stderr when the case was answered or closed already (by a colleague,
    on the platform): a second answer may still be meant, a follow-up."""
    try:
        record = MentionRecord.model_validate(client.call("GET", mention_path(mention_id)))
    except ApiError:
        return  # the reply itself says what is wrong
    if record.first_response_at is not None:
        by = f" by {record.first_response_by}" if record.first_response_by else ""
        post = f" ({record.first_response_post})" if record.first_response_post else ""
        handled = f"answered at {stamp(record.first_response_at)}{by}{post}"
    elif record.closed_at is not None:
        handled = f"closed at {stamp(record.closed_at)} {closed_by(record)}"
    else:
        return
    print(f"note: {record.id} was {handled}; this reply is sent as well", file=sys.stderr)


def cmd_approvals(args: argparse.Namespace, out: TextIO) -> int:
    """List a department's replies waiting for approval, oldest first, each with what it
    answers, so the reviewer reads both."""
    client = api_client(args)
    path = f"/departments/{args.department}/approvals?limit={args.limit}"
    pending = client.call("GET", path)["pending"]
    print(f"{len(pending)} waiting for approval in {args.department}", file=out)
    now = datetime.now(UTC)
    for reply in pending:
        try:
            case = MentionRecord.model_validate(
                client.call("GET", mention_path(reply["mention_id"]))
            )
            due = time_left(case.message.routing.sla_due_at, now)
            answering = f"{gist(case.message.mention)}\n  reply by: {due}"
        except ApiError as exc:
            answering = f"(the case cannot be read: {exc})"
        print(
            f"{reply['reply_id']}  to {reply['mention_id']}  by {reply['author']}"
            f"  {iso_stamp(reply['created_at'])}\n  reply:     {shortened(reply['text'])}"
            f"\n  answering: {answering}",
            file=out,
        )
    return 0


def cmd_approve(args: argparse.Namespace, out: TextIO) -> int:
    """Approve someone else's pending reply (--force: even though its case was answered or
    closed since it was written), then wait for it to be sent."""
    client = api_client(args)
    body = {"force": True} if args.force else {}
    approved = client.call("POST", f"/replies/{args.reply_id}/approve", body)
    print(f"{args.reply_id}: approved by {approved['reviewed_by']}", file=out)
    return _follow_reply(client, args.reply_id, args.wait, out)


def cmd_reject(args: argparse.Namespace, out: TextIO) -> int:
    """Turn down a pending reply: it is never posted."""
    path = f"/replies/{args.reply_id}/reject"
    rejected = api_client(args).call("POST", path, {"reason": args.reason})
    print(f"{args.reply_id}: rejected by {rejected['reviewed_by']}: {args.reason}", file=out)
    return 0


def cmd_templates(args: argparse.Namespace, out: TextIO) -> int:
    """List the saved replies: id, who saved it and when, then its text."""
    for template in api_client(args).call("GET", "/templates")["templates"]:
        print(f"{template['id']}  ({template['updated_by']}, {template['updated_at']})", file=out)
        language = f"{template['language']}: " if template.get("language") else ""
        print(f"  {language}{template['text']}", file=out)
        for language, text in sorted(template.get("translations", {}).items()):
            print(f"  {language}: {text}", file=out)
    return 0


def cmd_templates_set(args: argparse.Namespace, out: TextIO) -> int:
    """Add or replace a saved reply."""
    path = f"/templates/{quote(args.template_id, safe='')}"
    body = {"text": args.text, "language": args.language, "translations": dict(args.translation)}
    saved = api_client(args).call("PUT", path, body)
    translations = ", ".join(sorted(saved["translations"]))
    print(f"saved {saved['id']}" + (f", in {translations} too" if translations else ""), file=out)
    return 0


def cmd_templates_delete(args: argparse.Namespace, out: TextIO) -> int:
    """Remove a saved reply."""
    path = f"/templates/{quote(args.template_id, safe='')}"
    print(f"deleted {api_client(args).call('DELETE', path)['deleted']}", file=out)
    return 0
