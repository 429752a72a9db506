"""Health, the routed-mention lookup, a department's waiting cases, an author's cases (and
forgetting an author at their request), closing a case that needs no reply (and opening it
again; or every waiting case a condition matches), hiding a comment on its platform (or every
one a search finds), taking one to answer it (or the next nobody has), handing one over to
another department, notes on one, the cases handed over, what routing ignored, who is on shift
to be given new cases, and searching what was said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.blueprints.http import (
    PROTECTED,
    json_errors,
    json_response,
    known_department,
    limit_param,
    listing,
    query_param,
    request_model,
    require_caller,
)
from chalicelib.errors import MalformedRequest, NotFound
from chalicelib.models import (
    AuthorLabels,
    AwayRequest,
    CloseMatchingRequest,
    FindRequest,
    ForgetRequest,
    HideMatchingRequest,
    LabelRequest,
    MentionRecord,
    NoteRequest,
    PriorityRequest,
    ReasonRequest,
    Reply,
    ShiftEndRequest,
    ShiftRequest,
    TakeRequest,
    TransferRequest,
)
from chalicelib.observability import logger
from chalicelib.settings import get_settings
from chalicelib.stores.mentions import case_of

if TYPE_CHECKING:
    from chalicelib.services.moderation import Moderation

mentions = Blueprint(__name__)
MAX_WAITING = 200
LISTED_DAYS, IGNORED_DAYS, REPORT_DAYS = 30, 7, 7


@mentions.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    """Liveness: the API answers."""
    return {"status": "ok"}


@mentions.route("/mentions/{mention_id}", methods=["GET"], authorizer=PROTECTED)
@json_errors
def get_mention(mention_id: str) -> Response:
    """The stored record of a routed mention: decision, reasons, SLA deadline (asked for by
    the id of a later version of an edited post, the case of that post)."""
    require_caller(mentions.current_request)
    return json_response(_shown(routed_case(mention_id)))


def routed_case(mention_id: str) -> MentionRecord:
    """The case a path's mention id names (a Slack id's `/` sent as %2F; a later version of an
    edited post names its post's case); NotFound when there is none."""
    mention_id = unquote(mention_id)
    record = case_of(wiring.mentions(), mention_id)
    if record is None:
        raise NotFound(f"no routed mention {mention_id!r}")
    return record


@mentions.route("/mentions/search", methods=["POST"], authorizer=PROTECTED)
@json_errors
def search_mentions() -> Response:
    """The mentions routed in the last `days` days that `when` (a rule's condition) matches:
    how many, by platform and by day, and the newest `limit` with where their case stands."""
    from chalicelib.services.search import find  # the rules engine: off other routes
    from chalicelib.services.time_budget import from_context

    request = mentions.current_request
    require_caller(request)
    ask = request_model(request, FindRequest)
    time_left = from_context(mentions.lambda_context)
    settings = get_settings()
    result = find(wiring.traffic(), wiring.mentions(), settings, ask, datetime.now(UTC), time_left)
    return json_response(result.model_dump(mode="json"))


@mentions.route(
    "/mentions/{mention_id}/attachments/{number}", methods=["GET"], authorizer=PROTECTED
)
@json_errors
def get_attachment(mention_id: str, number: str) -> Response:
    """What the `number`th file (from 1) a customer sent with the mention is, and a link to it;
    a WhatsApp file is fetched from WhatsApp first (404 none such, 410 WhatsApp no longer has
    it, 502 WhatsApp would not give it)."""
    from chalicelib.services.attachments import AttachmentLinks  # requests: off other routes

    require_caller(mentions.current_request)
    record = routed_case(mention_id)
    if not number.isdecimal():
        raise MalformedRequest(f"an attachment is numbered from 1, not {number!r}")
    links = AttachmentLinks(wiring.attachments(), get_settings())
    return json_response(links.link(record, int(number)))


@mentions.route("/mentions/{mention_id}/close", methods=["POST"], authorizer=PROTECTED)
@json_errors
def close_mention(mention_id: str) -> Response:
    """Close a case without a reply, `{"reason": …}`: off the SLA clock; 200 with the record."""
    request = mentions.current_request
    by = require_caller(request)
    body = request_model(request, ReasonRequest)
    record = wiring.cases().close(unquote(mention_id), body.reason, by)
    return json_response(_shown(record))


@mentions.route("/mentions/{mention_id}/reopen", methods=["POST"], authorizer=PROTECTED)
@json_errors
def reopen_mention(mention_id: str) -> Response:
    """Open a closed case again: back on the SLA clock; 200 with the record."""
    by = require_caller(mentions.current_request)
    return json_response(_shown(wiring.cases().reopen(unquote(mention_id), by)))


@mentions.route("/mentions/{mention_id}/hide", methods=["POST"], authorizer=PROTECTED)
@json_errors
def hide_mention(mention_id: str) -> Response:
    """Hide a comment on its platform, `{"reason": …}` (abuse, spam, a scam): out of public
    view and off the SLA clock once the platform did it; 200 with the record."""
    request = mentions.current_request
    by = require_caller(request)
    body = request_model(request, ReasonRequest)
    return json_response(_shown(_moderation().hide(unquote(mention_id), True, by, body.reason)))


@mentions.route("/mentions/hide", methods=["POST"], authorizer=PROTECTED)
@json_errors
def hide_matching_mentions() -> Response:
    """Hide on their platforms the comments of the last `days` days that `when` matches,
    `{"when", "reason", "days"?, "limit"?, "dry_run"?}`: 200 with what was hidden, what the
    platforms did not hide and why, and what was left."""
    from chalicelib.services.time_budget import from_context

    request = mentions.current_request
    by = require_caller(request)
    ask = request_model(request, HideMatchingRequest)
    time_left = from_context(mentions.lambda_context)
    result = _moderation().hide_matching(wiring.traffic(), ask, by, time_left)
    return json_response(result.model_dump(mode="json"))


@mentions.route("/mentions/{mention_id}/unhide", methods=["POST"], authorizer=PROTECTED)
@json_errors
def unhide_mention(mention_id: str) -> Response:
    """Show a hidden comment again on its platform: back on the SLA clock unless answered,
    closed or deleted meanwhile; 200 with the record."""
    by = require_caller(mentions.current_request)
    return json_response(_shown(_moderation().hide(unquote(mention_id), False, by, None)))


def _moderation() -> Moderation:
    from chalicelib.services.moderation import Moderation  # platform clients: off other routes

    return Moderation(wiring.mentions(), wiring.queues(), get_settings())


@mentions.route("/mentions/{mention_id}/transfer", methods=["POST"], authorizer=PROTECTED)
@json_errors
def transfer_mention(mention_id: str) -> Response:
    """Hand a case over to another department, `{"to": …, "reason": …}`: 200 with the record."""
    request = mentions.current_request
    by = require_caller(request)
    body = request_model(request, TransferRequest)
    record = wiring.cases().transfer(unquote(mention_id), body.to, body.reason, by)
    return json_response(_shown(record))


@mentions.route("/mentions/{mention_id}/priority", methods=["POST"], authorizer=PROTECTED)
@json_errors
def reprioritise_mention(mention_id: str) -> Response:
    """Change a case's priority, `{"priority": …, "reason": …}`: 200 with the record."""
    request = mentions.current_request
    by = require_caller(request)
    body = request_model(request, PriorityRequest)
    record = wiring.cases().reprioritise(unquote(mention_id), body.priority, body.reason, by)
    return json_response(_shown(record))


@mentions.route("/mentions/{mention_id}/take", methods=["POST"], authorizer=PROTECTED)
@json_errors
def take_mention(mention_id: str) -> Response:
    """Take a case to answer it, `{"minutes": 1-480}` (default 30), or give it to a colleague
    (`"for"`): 200 with the record."""
    request = mentions.current_request
    by = require_caller(request)
    body = request_model(request, TakeRequest)
    taker = body.assignee or by
    return json_response(_shown(wiring.cases().take(unquote(mention_id), taker, body.minutes, by)))


@mentions.route("/mentions/{mention_id}/leave", methods=["POST"], authorizer=PROTECTED)
@json_errors
def leave_mention(mention_id: str) -> Response:
    """Give back a case you took: 200 with the record."""
    by = require_caller(mentions.current_request)
    return json_response(_shown(wiring.cases().leave(unquote(mention_id), by)))


@mentions.route("/mentions/{mention_id}/notes", methods=["POST"], authorizer=PROTECTED)
@json_errors
def note_mention(mention_id: str) -> Response:
    """Note something on a mention for colleagues, `{"text": …}`: 200 with the record."""
    request = mentions.current_request
    by = require_caller(request)
    body = request_model(request, NoteRequest)
    return json_response(_shown(wiring.cases().note(unquote(mention_id), by, body.text)))


@mentions.route("/authors/{author}/cases", methods=["GET"], authorizer=PROTECTED)
@json_errors
def author_cases(author: str) -> Response:
    """The cases an author (`<platform>:<author id>`, as `routing.history` keys them) opened
    while their records are kept (90 days), newest first, each with its department and
    state (`limit`, 1-200, default 50), and the labels the author carries."""
    request = mentions.current_request
    require_caller(request)
    author = _author(author)
    since = datetime.now(UTC) - timedelta(days=get_settings().mention_ttl_days)
    store = wiring.mentions()
    cases = store.earlier_cases(author, since, limit_param(request, MAX_WAITING))
    body = {
        "author": author,
        "labels": store.labels_of(author),
        "cases": [case.model_dump(mode="json") for case in cases],
    }
    return json_response(body)


@mentions.route("/authors/{author}/forget", methods=["POST"], authorizer=PROTECTED)
@json_errors
def forget_author(author: str) -> Response:
    """Erase what an author wrote and who they are, at their request, `{"reason": …}`
    (`dry_run`: only say what is kept): 200 with what was erased."""
    from chalicelib.services.erasure import Erasure  # off the webhook path
    from chalicelib.services.time_budget import from_context

    request = mentions.current_request
    by = require_caller(request)
    body = request_model(request, ForgetRequest)
    erasure = Erasure(
        wiring.mentions(),
        wiring.replies(),
        wiring.traffic(),
        wiring.attachments(),
        wiring.queues(),
        time_left=from_context(mentions.lambda_context),
    )
    result = erasure.forget(_author(author), by, body.reason, body.dry_run)
    return json_response(result.model_dump(mode="json"))


@mentions.route("/authors/{author}/labels", methods=["GET"], authorizer=PROTECTED)
@json_errors
def author_labels(author: str) -> Response:
    """An author's labels, sorted."""
    require_caller(mentions.current_request)
    author = _author(author)
    labels = AuthorLabels(author=author, labels=wiring.mentions().labels_of(author))
    return json_response(labels.model_dump(mode="json"))


@mentions.route("/authors/{author}/labels", methods=["POST"], authorizer=PROTECTED)
@json_errors
def label_author(author: str) -> Response:
    """Add and remove an author's labels, `{"add": [...], "remove": [...]}`: 200 with their
    labels after; their mentions routed from now on carry them (`author.labels`)."""
    from chalicelib.services.labels import relabel

    request = mentions.current_request
    by = require_caller(request)
    body = request_model(request, LabelRequest)
    labelled = relabel(wiring.mentions(), _author(author), body)
    logger.info(
        "author labelled",
        extra={"author": labelled.author, "by": by, "add": body.add, "remove": body.remove},
    )
    return json_response(labelled.model_dump(mode="json"))


def _author(author: str) -> str:
    """A path's author, `<platform>:<author id>`, or MalformedRequest."""
    author = unquote(author)
    platform, _, native = author.partition(":")
    if not platform or not native:
        raise MalformedRequest(f"an author is '<platform>:<author id>', got {author!r}")
    return author


@mentions.route("/departments", methods=["GET"], authorizer=PROTECTED)
@json_errors
def list_departments() -> Response:
    """The departments configured, each a queue, and which of them is triage: 200
    `{"departments", "triage"}`."""
    require_caller(mentions.current_request)
    settings = get_settings()
    return json_response(
        {"departments": list(settings.departments), "triage": settings.triage_department}
    )


@mentions.route("/departments/{department}/waiting", methods=["GET"], authorizer=PROTECTED)
@json_errors
def waiting_cases(department: str) -> Response:
    """A department's cases waiting for a first response, soonest deadline first (`limit`,
    1-200, default 50), each with the answer to it waiting for approval, if one is: what is
    still to answer once the queue messages were read; with `mine=true`, of those, the ones
    the caller took or was given."""
    request = mentions.current_request
    caller = require_caller(request)
    mine = query_param(request, "mine")
    if mine not in (None, "true", "false"):
        raise MalformedRequest(f"mine must be true or false, not {mine!r}")
    records = wiring.mentions().waiting(
        known_department(department), limit_param(request, MAX_WAITING)
    )
    if mine == "true":
        now = datetime.now(UTC)
        records = [record for record in records if record.taker(now) == caller]
    awaiting = wiring.awaiting_approval() if records else {}
    shown = (
        {**_shown(record), "awaiting_approval": _pending(awaiting.get(record.id))}
        for record in records
    )
    return listing("waiting", shown, department=department)


def _pending(reply: Reply | None) -> dict[str, str] | None:
    """An answer waiting for approval as a waiting case shows it."""
    return None if reply is None else {"reply_id": reply.reply_id, "author": reply.author}


@mentions.route("/departments/{department}/next", methods=["POST"], authorizer=PROTECTED)
@json_errors
def next_case(department: str) -> Response:
    """The caller (or `for`) takes the department's next case nobody has taken, soonest
    deadline first, in a language of their shift there if it names some, `{"minutes"?,
    "for"?}`: 200 with it, `next` null when none is free. A caller away from their shift
    there is back."""
    request = mentions.current_request
    caller = require_caller(request)
    body = request_model(request, TakeRequest)
    department = known_department(department)
    who, awaiting = body.assignee or caller, wiring.awaiting_approval()
    answer = wiring.shift_service().take_next(
        wiring.cases(), department, who, body.minutes, awaiting, caller
    )
    return json_response(answer.model_dump(mode="json", by_alias=True))


@mentions.route("/departments/{department}/shifts", methods=["GET", "POST"], authorizer=PROTECTED)
@json_errors
def department_shifts(department: str) -> Response:
    """GET: who is on shift in the department, next to be given a new case first, each with
    how many waiting cases they have, and how many waiting cases nobody has. POST `{"hours",
    "for"?, "capacity"?, "languages"?}`: the caller (or `for`) goes on shift, given its new
    cases (the least busy first, never more than `capacity` waiting at once, only in
    `languages` when named) until the shift ends; 200 with the shift."""
    request = mentions.current_request
    caller = require_caller(request)
    department = known_department(department)
    if request.method == "GET":
        roster = wiring.shift_service().roster(department, wiring.awaiting_approval())
        return json_response(roster.model_dump(mode="json"))
    body = request_model(request, ShiftRequest)
    shift = wiring.shift_service().start(
        department, body.agent or caller, body.hours, body.capacity, body.languages
    )
    return json_response(shift.model_dump(mode="json"))


@mentions.route("/departments/{department}/shifts/end", methods=["POST"], authorizer=PROTECTED)
@json_errors
def end_shift(department: str) -> Response:
    """The caller's (or `for`'s) shift ends: no more new cases, and the waiting cases they had
    are free again; 200 with what was given back."""
    request = mentions.current_request
    caller = require_caller(request)
    body = request_model(request, ShiftEndRequest)
    ended = wiring.shift_service().end(known_department(department), body.agent or caller)
    return json_response(ended.model_dump(mode="json"))


@mentions.route("/departments/{department}/shifts/away", methods=["POST"], authorizer=PROTECTED)
@json_errors
def shift_away(department: str) -> Response:
    """The caller (or `for`) steps away from their shift, `{"away": true}` (the default: given no
    new case, keeping what they have), or comes back, `{"away": false}`; 200 with the shift, 404
    when they are not on shift."""
    request = mentions.current_request
    caller = require_caller(request)
    body = request_model(request, AwayRequest)
    shift = wiring.shift_service().away(
        known_department(department), body.agent or caller, body.away
    )
    return json_response(shift.model_dump(mode="json"))


@mentions.route("/departments/{department}/close", methods=["POST"], authorizer=PROTECTED)
@json_errors
def close_matching_cases(department: str) -> Response:
    """Close the department's waiting cases a condition matches, `{"when": …, "reason": …}`
    (`dry_run`: only say which): 200 with what was closed and what was left."""
    from chalicelib.services.sweeps import close_matching  # the rules engine: off other routes
    from chalicelib.services.time_budget import from_context

    request = mentions.current_request
    by = require_caller(request)
    body = request_model(request, CloseMatchingRequest)
    time_left = from_context(mentions.lambda_context)
    result = close_matching(wiring.cases(), known_department(department), body, by, time_left)
    return json_response(result.model_dump(mode="json"))


@mentions.route("/departments/{department}/handed-over", methods=["GET"], authorizer=PROTECTED)
@json_errors
def handed_over_cases(department: str) -> Response:
    """The cases routed to a department (or `ignore`d) that people handed over to another
    within `days` (1 up to the 90 days records are kept, default 30), newest first (`limit`,
    1-200, default 50): where routing went wrong, in the words of those who corrected it."""
    request = mentions.current_request
    require_caller(request)
    if department != "ignore":  # `ignore`: the ignored mentions people rescued
        known_department(department)
    days, since, limit = _window(request, LISTED_DAYS)
    records = wiring.mentions().handed_over(department, since, limit)
    return listing("cases", map(_shown, records), department=department, days=days)


@mentions.route("/departments/{department}/report", methods=["GET"], authorizer=PROTECTED)
@json_errors
def department_report(department: str) -> Response:
    """How a department did with the mentions routed to it within `days` (1 up to the 90 days
    records are kept, default 7): answered, on time, still waiting, escalated, closed."""
    from chalicelib.services.reports import report_of  # off the webhook path

    request = mentions.current_request
    require_caller(request)
    days = limit_param(request, get_settings().mention_ttl_days, REPORT_DAYS, "days")
    report = report_of(wiring.mentions(), known_department(department), days, datetime.now(UTC))
    return json_response(report.model_dump(mode="json"))


@mentions.route("/ignored", methods=["GET"], authorizer=PROTECTED)
@json_errors
def ignored_mentions() -> Response:
    """The mentions routing ignored within `days` (1-90, default 7), newest first (`limit`,
    1-200, default 50), each with the rule that decided it: what to look through for one that
    deserved an answer (`POST /mentions/{id}/transfer` rescues it)."""
    request = mentions.current_request
    require_caller(request)
    days, since, limit = _window(request, IGNORED_DAYS)
    records = wiring.mentions().ignored(since, limit)
    return listing("ignored", map(_shown, records), days=days)


def _window(request: Request, default_days: int) -> tuple[int, datetime, int]:
    """A listing's `days` (1 up to the days records are kept) with the moment they start, and
    its `limit` (1-200)."""
    days = limit_param(request, get_settings().mention_ttl_days, default_days, "days")
    return days, datetime.now(UTC) - timedelta(days=days), limit_param(request, MAX_WAITING)


def _shown(record: MentionRecord) -> dict[str, Any]:
    """A mention record as the API shows it."""
    return record.model_dump(mode="json", by_alias=True)
