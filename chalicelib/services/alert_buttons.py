"""The buttons on Slack alerts (ALERT_BUTTONS), pressed by someone AGENT_CHANNELS names (by their
Slack member id), do what the CLI would do under that name: "Take it" on a case's alert takes
the case (DEFAULT_TAKE_MINUTES), "Reply…" opens a modal the reply is written in (for a WhatsApp
customer past 24 hours, the approved template to send: its name, language and values), and sent,
answers it (`switchboard reply`), "Give back" gives back the case its presser has (on the alerts
of taken cases, and of those given to someone, in their own chat); "Approve" on the alert of a
reply waiting for approval approves it, "Reject…" asks why in a modal, then rejects it; the menu
of a case's alert hands the case over to another department, gives it to a colleague, changes
its priority or closes it, each asking first in a modal (which department, whom, which priority;
why, or a note). The alert then says what became of it instead of offering its buttons (as it
does however that came about: `refresh_alerts`). What Switchboard cannot do (someone else has
the case, it was answered, closed or hidden meanwhile, the reply was reviewed already or is the
approver's own, the person has no name here) is told to that person alone, saying why (in the
modal, for what is sent in one). Slack wants its answer in 3 seconds: each press is a few reads
and a conditional write, and what Slack is told goes through the outbox, except the modal, which
Slack lets open only within those seconds."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from chalicelib.cli_text import author_of, shortened
from chalicelib.errors import (
    Conflict,
    Forbidden,
    MalformedRequest,
    NotFound,
    SwitchboardError,
)
from chalicelib.models import (
    DEFAULT_TAKE_MINUTES,
    WHATSAPP_LANGUAGE,
    MentionRecord,
    Priority,
    ReplyRequest,
    ReplyTemplate,
    WhatsAppTemplate,
)
from chalicelib.observability import logger
from chalicelib.platforms.slack import (
    CHOICE,
    FIELD,
    FIELD_LIMIT,
    ButtonPress,
    ModalSubmission,
    TextInput,
    fields_modal,
    interaction,
    notice_modal,
    open_modal,
    text_modal,
    verify_request,
)
from chalicelib.rules.engine import PRIORITY_RANK
from chalicelib.services.alerts import (
    APPROVE,
    CASE_MENU,
    CLOSE,
    GIVE,
    LEAVE,
    PRIORITY,
    REJECT,
    REPLY,
    TAKE,
    TRANSFER,
    escaped,
    refused_message,
    settled,
    tell_channel,
)
from chalicelib.services.templates import render
from chalicelib.services.windows import WHATSAPP_LATE, own_words_refused
from chalicelib.settings import TEAMS, Settings
from chalicelib.stores.mentions import case_of, dm_sender, last_heard
from chalicelib.stores.queues import Queues
from chalicelib.stores.replies import ReplyStore
from chalicelib.stores.templates import TemplateStore

if TYPE_CHECKING:
    from chalicelib.platforms.meta import ApprovedTemplate
    from chalicelib.services.cases import CaseService
    from chalicelib.services.replies import ReplyService
    from chalicelib.services.shifts import ShiftService

REFUSALS = (NotFound, Conflict, Forbidden)
"""What a service raises for something a person cannot do: told to them, not failed."""


@dataclass
class AlertButtons:
    """What pressing the buttons on Slack alerts does (`answer`)."""

    settings: Settings
    queues: Queues
    cases: Callable[[], CaseService]
    replies: Callable[[], ReplyService]
    drafts: Callable[[], ReplyStore]
    """The replies as stored: a draft read, without the service's checks."""
    templates: Callable[[], TemplateStore]
    """The saved replies a reply's form offers."""
    shifts: Callable[[], ShiftService]
    """Who is on shift: a lead giving a case sees it beside each name."""

    def answer(self, body: bytes, headers: Mapping[str, str], now: datetime) -> dict[str, Any]:
        """Do what a press (or a modal sent) asks, once its request is verified (signature and
        timestamp over the raw body): what was done (`status`) or why not (`reason`); for a
        modal, Slack's `response_action` (close it, or show what is wrong in it)."""
        verify_request(body, headers, self.settings, now.timestamp())
        done = interaction(body)
        if isinstance(done, ModalSubmission):
            return self._submitted(done)
        if done.action not in (TAKE, REPLY, LEAVE, APPROVE, REJECT, *MENU_ITEMS):
            raise MalformedRequest(f"Switchboard's alerts have no button {done.action!r}")
        agent = agent_named(done.user, self.settings)
        if agent is None:
            return self._refuse(done, stranger(done.user))
        if done.action == TAKE:
            return self._take(done, agent)
        if done.action == REPLY:
            return self._ask_reply(done, agent, now)
        if done.action == LEAVE:
            return self._give_back(done, agent)
        if done.action == APPROVE:
            return self._approve(done, agent)
        if done.action in MENU_ITEMS:
            return self._ask_about_case(done, agent)
        return self._ask_why(done)

    def _take(self, press: ButtonPress, agent: str) -> dict[str, Any]:
        """Take the case (its alerts then say who has it: the take changes them)."""
        try:
            record = self.cases().take(press.value, agent, DEFAULT_TAKE_MINUTES, open_only=True)
        except REFUSALS as refused:
            return self._refuse(press, refused.message)
        logger.info("case taken from an alert", extra={"mention_id": record.id, "by": agent})
        return {"status": "taken", "mention_id": record.id, "by": agent}

    def _give_back(self, press: ButtonPress, agent: str) -> dict[str, Any]:
        """Give back the case `agent` has (its alerts then offer Take it again: the change
        refreshes them); one nobody has is left as it is."""
        try:
            record = self.cases().leave(press.value, agent)
        except REFUSALS as refused:
            return self._refuse(press, refused.message)
        logger.info("case given back from an alert", extra={"mention_id": record.id, "by": agent})
        return {"status": "given back", "mention_id": record.id, "by": agent}

    def _ask_reply(self, press: ButtonPress, agent: str, now: datetime) -> dict[str, Any]:
        """Open the modal a reply to the case is written in, showing what the customer wrote
        (unless it waits for no answer); one someone else has taken offers to answer it anyway,
        as `switchboard reply --force` would."""
        found = self._case_pressed(press, "answer")
        if isinstance(found, str):
            return self._refuse(press, found)
        taker = found.taker(now)
        anyway = [] if taker in (None, agent) else [(ANYWAY, f"{ANYWAY_SAID}: {taker} has it")]
        late = own_words_refused(last_heard(self.cases().mentions, found).message.mention, now)
        if late == WHATSAPP_LATE:
            return self._ask_template(press, found, anyway)
        if late is not None:
            return self._refuse(press, f"{found.id}: {late}")
        metadata = json.dumps({"mention": found.id})
        saved = [(each.id, _offered(each, found, agent)) for each in self._saved()]
        modal = text_modal(
            REPLY,
            "Reply",
            _answering(found),
            metadata,
            FIELD_LIMIT,
            _quoted(found),
            saved,
            "A saved reply, filled in for them (or write your own below)",
            [*_ways(found, self.settings), *anyway],
        )
        cli = f"`switchboard reply {found.id} TEXT` does the same"
        return self._open(press, modal, cli) or {"status": "asked", "mention_id": found.id}

    def _case_pressed(self, press: ButtonPress, verb: str) -> MentionRecord | str:
        """The case a press is about, or why there is nothing to `verb` (there is no such
        case, or it waits for no answer any more)."""
        found = case_of(self.cases().mentions, press.value)
        if found is None:
            return f"no routed mention {press.value!r}"
        done = settled(found)
        if done is not None:
            return f"{found.id} was {done}: nothing to {verb}"
        return found

    def _ask_template(
        self, press: ButtonPress, found: MentionRecord, flags: list[tuple[str, str]]
    ) -> dict[str, Any]:
        """Open the form a WhatsApp case past its 24 hours is answered in: which template
        approved in WhatsApp Manager (a choice of them, with WHATSAPP_BUSINESS_ACCOUNT_ID; else
        its name and language), with which values for its variables, and the boxes `flags`."""
        metadata = json.dumps({"mention": found.id})
        shown = f"{_quoted(found)}\n\n{WHATSAPP_LATE}: which one, filled in with what?"
        cli = (
            f"`switchboard reply {found.id} --whatsapp-template NAME --language L --param …`"
            " does the same"
        )
        language = found.message.routing.language() or ""
        approved = self._approved(language)
        if approved:
            offered = [
                (_chosen(each), f"{each.name} ({each.language}): {each.body}") for each in approved
            ]
            values = TextInput(FIELD, VALUES, multiline=True, optional=True, max_length=FIELD_LIMIT)
            title = "WhatsApp template"
            modal = fields_modal(
                TEMPLATE, title, metadata, shown, (values,), offered, "Template", flags
            )
            return self._open(press, modal, cli) or {"status": "asked", "mention_id": found.id}
        fields = (
            TextInput(
                TEMPLATE_NAME, "Template", "Its name as approved: order_update", max_length=512
            ),
            TextInput(
                TEMPLATE_LANGUAGE,
                "Language",
                "As approved: en_US, pt_BR, es",
                language if re.fullmatch(WHATSAPP_LANGUAGE, language) else "",
                max_length=6,
            ),
            TextInput(FIELD, VALUES, multiline=True, optional=True, max_length=FIELD_LIMIT),
        )
        modal = fields_modal(TEMPLATE, "WhatsApp template", metadata, shown, fields, flags=flags)
        return self._open(press, modal, cli) or {"status": "asked", "mention_id": found.id}

    def _approved(self, language: str) -> list[ApprovedTemplate]:
        """The account's approved templates, those in the customer's `language` first (best
        effort: none, and the form asks for a name, when WHATSAPP_BUSINESS_ACCOUNT_ID is unset
        or they cannot be read within a second)."""
        from chalicelib.platforms.meta import approved_templates  # only for this form

        if not self.settings.whatsapp_business_account_id:
            return []
        quick = self.settings.model_copy(update={"platform_timeout_seconds": 1})
        try:
            approved = approved_templates(quick)
        except Exception:
            logger.warning("could not read the approved WhatsApp templates", exc_info=True)
            return []
        theirs = language.split("_")[0]
        return sorted(approved, key=lambda each: each.language.split("_")[0] != theirs)

    def _saved(self) -> list[ReplyTemplate]:
        """The saved replies, by id (best effort: a form offers none when they cannot be read,
        rather than open too late)."""
        try:
            return self.templates().all()
        except Exception:
            logger.warning("could not read the saved replies for a reply's form", exc_info=True)
            return []

    def _approve(self, press: ButtonPress, agent: str) -> dict[str, Any]:
        try:
            reply = self.replies().approve(press.value, agent)
        except REFUSALS as refused:
            return self._refuse(press, refused.message)
        logger.info("reply approved from an alert", extra={"reply_id": reply.reply_id})
        by = reply.reviewed_by or agent  # someone else, if they approved it first
        return {"status": "approved", "reply_id": reply.reply_id, "by": by}

    def _ask_why(self, press: ButtonPress) -> dict[str, Any]:
        """Open the modal asking why the reply is rejected (unless it waits no more)."""
        reply = self.drafts().get(press.value)
        if reply is None:
            return self._refuse(press, f"no reply {press.value!r}")
        if reply.status != "pending":
            why = f"reply {press.value} is {reply.status}, not waiting for approval"
            return self._refuse(press, why)
        metadata = json.dumps({"reply": press.value})
        label = f"Why must {reply.author}'s reply not be posted? They are told."
        modal = text_modal(REJECT, "Reject the reply", label, metadata)
        cli = f"`switchboard reject {press.value} REASON` does the same"
        return self._open(press, modal, cli) or {"status": "asked", "reply_id": press.value}

    def _ask_about_case(self, press: ButtonPress, agent: str) -> dict[str, Any]:
        """Open the form, chosen from a case alert's menu, that hands the case over (to which
        department, and why), gives it to a colleague (who, and a note for them), changes its
        priority (to which, and why) or closes it (why); unless it waits for no answer any
        more, or there is nobody to give it to."""
        verb = {TRANSFER: "hand over", GIVE: "give", PRIORITY: "reprioritise"}.get(
            press.action, "close"
        )
        found = self._case_pressed(press, verb)
        if isinstance(found, str):
            return self._refuse(press, found)
        metadata = json.dumps({"mention": found.id})
        quoted = _quoted(found)
        if press.action == TRANSFER:
            department = found.message.routing.department
            elsewhere = [(each, each) for each in self.settings.departments if each != department]
            label = "Why? The department it goes to reads it with the case"
            modal = text_modal(TRANSFER, "Hand over", label, metadata, 500, quoted, elsewhere, "To")
            cli = f"`switchboard transfer {found.id} DEPARTMENT REASON` does the same"
        elif press.action == GIVE:
            others = [name for name in _colleagues(self.settings) if name != agent]
            if not others:
                return self._refuse(press, "AGENT_CHANNELS names nobody else to give it to")
            people = self._shown_with_shifts(found.message.routing.department, others)
            label = "A note for them (optional: kept on the case, and they are told)"
            modal = text_modal(GIVE, "Give to", label, metadata, 2000, quoted, people, "To")
            cli = f"`switchboard take {found.id} --for NAME` does the same"
        elif press.action == PRIORITY:
            current = found.message.routing.priority
            levels = [(each, each) for each in reversed(PRIORITY_RANK) if each != current]
            label = "Why? It is kept on the case (whoever has it is told)"
            heading = f"Its priority instead of {current}"
            modal = text_modal(PRIORITY, "Priority", label, metadata, 500, quoted, levels, heading)
            cli = f"`switchboard priority {found.id} LEVEL REASON` does the same"
        else:
            label = "Why does it need no reply? It is kept on the case"
            modal = text_modal(CLOSE, "Close the case", label, metadata, 500, quoted)
            cli = f"`switchboard close {found.id} REASON` does the same"
        return self._open(press, modal, cli) or {"status": "asked", "mention_id": found.id}

    def _shown_with_shifts(self, department: str, people: list[str]) -> list[tuple[str, str]]:
        """`people` as Give to… offers them: those on shift in `department` first, each with
        how many of its waiting cases they have (and whether they are away); best effort, the
        names alone when the roster cannot be read."""
        try:
            on = {shift.agent: shift for shift in self.shifts().roster(department).on_shift}
        except Exception:
            logger.warning("could not read who is on shift for a Give to… form", exc_info=True)
            on = {}
        shown = []
        for name in sorted(people, key=lambda name: name not in on):
            shift = on.get(name)
            if shift is None:
                shown.append((name, name))
                continue
            state = "away" if shift.away else f"has {shift.holding or 0}"
            shown.append((name, f"{name} · on shift, {state}"))
        return shown

    def _open(self, press: ButtonPress, modal: dict[str, Any], cli: str) -> dict[str, Any] | None:
        """Open `modal` for the presser (None), or tell them Slack would not, and what CLI
        command does the same (`cli`)."""
        from chalicelib.platforms.outbound import PlatformError  # requests: off the webhooks

        try:
            open_modal(press.trigger_id, modal, self.settings)
        except PlatformError as exc:
            return self._refuse(press, f"Slack would not open the form ({exc}): {cli}")
        return None

    def _submitted(self, sent: ModalSubmission) -> dict[str, Any]:
        """A modal sent: a reply written (posted, or waiting for approval), a rejection's
        reason (the reply rejected), a case handed over, given, reprioritised or closed; or what
        is wrong, shown in the modal."""
        key = "reply" if sent.callback == REJECT else "mention"
        if sent.callback not in (REPLY, TEMPLATE, REJECT, *MENU_ITEMS):
            raise MalformedRequest(f"Switchboard has no form {sent.callback!r}")
        try:
            about = str(json.loads(sent.metadata)[key])
        except (ValueError, KeyError, TypeError):
            raise MalformedRequest("the form's private_metadata is not Switchboard's") from None
        agent = agent_named(sent.user, self.settings)
        text = sent.text.strip()
        if agent is None:
            return _wrong(stranger(sent.user))
        if sent.callback == REPLY:
            return self._reply(about, agent, text, sent)
        if sent.callback == TEMPLATE:
            return self._send_template(about, agent, sent)
        if sent.callback == GIVE:
            return self._give(about, agent, text, sent.choice)
        if sent.callback in MENU_ITEMS:
            return self._settle(about, agent, text, sent)
        if not text:
            return _wrong("say why: the reply's author is told")
        try:
            reply = self.replies().reject(about, agent, text[:500])
        except REFUSALS as refused:
            return _wrong(refused.message)
        logger.info("reply rejected from an alert", extra={"reply_id": reply.reply_id})
        return {"response_action": "clear"}

    def _settle(
        self, mention_id: str, agent: str, text: str, sent: ModalSubmission
    ) -> dict[str, Any]:
        """Hand the case over to the department chosen, change its priority to the one chosen,
        or close it, as `agent`, saying why (`text`), as `switchboard transfer`, `priority` or
        `close` would; what cannot be done is shown in the form (its alerts say what became of
        it: the change refreshes them)."""
        choose = {TRANSFER: "the department to have it", PRIORITY: "its priority"}
        if sent.callback in choose and sent.choice is None:
            return _wrong(f"choose {choose[sent.callback]}", CHOICE)
        if not text:
            return _wrong("say why: it is kept on the case")
        cases, why, chosen = self.cases(), text[:500], str(sent.choice)
        try:
            if sent.callback == TRANSFER:
                record = cases.transfer(mention_id, chosen, why, agent)
            elif sent.callback == PRIORITY:
                record = cases.reprioritise(mention_id, _priority(chosen), why, agent)
            else:
                record = cases.close(mention_id, why, agent)
        except SwitchboardError as refused:
            return _wrong(refused.message)
        logger.info(
            "case changed from an alert",
            extra={"mention_id": record.id, "by": agent, "change": sent.callback},
        )
        return {"response_action": "clear"}

    def _give(self, mention_id: str, agent: str, text: str, to: str | None) -> dict[str, Any]:
        """Give the case to the colleague chosen, as `switchboard take --for` would (they are
        told in their own chat), and note `text` on it for them if there is one; what cannot
        be done (someone else has it meanwhile) is shown in the form."""
        if to is None:
            return _wrong("choose whom to give it to", CHOICE)
        cases = self.cases()
        try:
            record = cases.take(mention_id, to, DEFAULT_TAKE_MINUTES, agent, open_only=True)
        except SwitchboardError as refused:
            return _wrong(refused.message, CHOICE)
        logger.info("case given from an alert", extra={"mention_id": record.id, "to": to})
        try:
            if text:
                cases.note(record.id, agent, text[:2000])
        except SwitchboardError as refused:
            return _wrong(f"given to {to}, but the note was not kept: {refused.message}")
        return {"response_action": "clear"}

    def _reply(
        self, mention_id: str, agent: str, text: str, sent: ModalSubmission
    ) -> dict[str, Any]:
        """Answer the case as `agent` with `text`, or the saved reply chosen, as `switchboard
        reply` would (the modal's id the idempotency key: sent twice, it is one reply); what
        the reply service refuses (too long for the platform, taken by someone else
        meanwhile…) is shown in the modal; one that waits for approval, said in it instead of
        closing it."""
        if not text and sent.choice is None:
            choose = ", or choose a saved one" if sent.offered else ""
            return _wrong(f"write the reply (it is posted on the platform){choose}")
        used = FIELD if sent.choice is None else CHOICE
        if text and sent.choice is not None:
            return _wrong(f"a saved reply ({sent.choice}) or your own words: one of them", used)
        request = ReplyRequest(
            mention_id=mention_id,
            text=text,
            template=sent.choice,
            idempotency_key=_once(sent),
            private=PRIVATE in sent.flags,
            survey=SURVEY in sent.flags,
            force=ANYWAY in sent.flags,
        )
        return self._submit(request, agent, used)

    def _send_template(self, mention_id: str, agent: str, sent: ModalSubmission) -> dict[str, Any]:
        """Answer the case as `agent` with the WhatsApp template chosen (or named) in the
        form, as `switchboard reply --whatsapp-template` would; what is wrong with it (a
        template not chosen, as many values as it has variables not given) is shown under its
        field."""
        values = [line.strip() for line in sent.text.splitlines() if line.strip()]
        if sent.offered and sent.choice is None:
            return _wrong("choose the template", CHOICE)
        if sent.choice is not None:
            name, _, chosen = sent.choice.partition(" ")
            language, _, variables = chosen.partition(" ")
            if not variables.isdecimal():
                raise MalformedRequest("the form's template choice is not Switchboard's")
            if len(values) != int(variables):
                said = f"{name} ({language}) takes {variables} value(s), one a line: {len(values)}"
                return _wrong(f"{said} given", FIELD)
        else:
            name = sent.written.get(TEMPLATE_NAME, "").strip()
            language = sent.written.get(TEMPLATE_LANGUAGE, "").strip()
        try:
            template = WhatsAppTemplate(name=name, language=language, parameters=values)
        except ValidationError as wrong:
            return _template_wrong(wrong)
        request = ReplyRequest(
            mention_id=mention_id,
            whatsapp_template=template,
            idempotency_key=_once(sent),
            force=ANYWAY in sent.flags,
        )
        return self._submit(request, agent, FIELD)

    def _submit(self, request: ReplyRequest, agent: str, under: str) -> dict[str, Any]:
        """Submit a reply written in a form, closing it; what the reply service refuses is
        shown under the field `under`, and a reply that waits for approval said in the form."""
        try:
            reply = self.replies().submit(request, agent)
        except SwitchboardError as refused:
            return _wrong(refused.message, under)
        logger.info("reply written in an alert", extra={"reply_id": reply.reply_id})
        if reply.status != "pending":
            return {"response_action": "clear"}
        said = (
            f"Your reply ({reply.reply_id}) waits for a second person's approval in"
            f" {reply.approval_department}: it is posted once approved, and you are told."
        )
        return {"response_action": "update", "view": notice_modal("Waiting for approval", said)}

    def _refuse(self, press: ButtonPress, why: str) -> dict[str, Any]:
        """Tell whoever pressed the button, alone, why it was not done."""
        logger.info("button press refused", extra={"value": press.value, "why": why})
        tell_channel(self.queues, refused_message(press.channel, press.user, why))
        return {"status": "refused", "value": press.value, "reason": why}


def agent_named(user: str, settings: Settings) -> str | None:
    """The name a Slack member works under, the one AGENT_CHANNELS gives their member id."""
    names = {channel: name for name, channel in _slack_people(settings)}
    return names.get(user)


def _colleagues(settings: Settings) -> list[str]:
    """The names of the people a case can be given to from Slack, in AGENT_CHANNELS' order."""
    return [name for name, _ in _slack_people(settings)]


def _slack_people(settings: Settings) -> list[tuple[str, str]]:
    """(name, Slack channel) of each person AGENT_CHANNELS names in Slack (not Teams)."""
    people = settings.agent_channels.items()
    return [(name, channel) for name, channel in people if not channel.startswith(TEAMS)]


def stranger(user: str) -> str:
    """What someone AGENT_CHANNELS does not name is told, and what to add."""
    return (
        "Switchboard does not know who you are: an admin adds you to AGENT_CHANNELS as"
        f' {{"<your name>": "{user}"}}'
    )


def _wrong(why: str, under: str = FIELD) -> dict[str, Any]:
    """The answer that keeps a modal open, saying what is wrong under its field (`under`: the
    text field, or the choice of a saved reply)."""
    return {"response_action": "errors", "errors": {under: why}}


MENU_ITEMS = tuple(action for action, _ in CASE_MENU)
"""What a case alert's menu does, each item asking in a form first."""


def _priority(level: str) -> Priority:
    """A priority chosen in a form (MalformedRequest for one that is none)."""
    if level not in PRIORITY_RANK:
        raise MalformedRequest(f"no priority {level!r}: {', '.join(PRIORITY_RANK)}")
    return cast(Priority, level)


PRIVATE, SURVEY, ANYWAY = "private", "survey", "anyway"
"""The boxes a reply's form may have: answer a comment by private message, ask the customer
afterwards how it went, answer a case someone else has taken."""
ANYWAY_SAID = "Answer anyway (force)"
"""What the box to answer a case someone else has taken says (then who has it)."""


def _ways(case: MentionRecord, settings: Settings) -> list[tuple[str, str]]:
    """The boxes a reply to `case` may tick, as `switchboard reply --private` or `--survey`
    would: a private reply to a Facebook or Instagram comment, the satisfaction survey after
    an answer to a direct message (when SATISFACTION_SURVEY is set)."""
    mention = case.message.mention
    ways = []
    if mention.takes_private_reply:
        ways.append((PRIVATE, "Send it privately, as a message to the commenter"))
    if settings.satisfaction_survey and dm_sender(mention) is not None:
        ways.append((SURVEY, "Then ask them how it went (the satisfaction survey)"))
    return ways


TEMPLATE, TEMPLATE_NAME, TEMPLATE_LANGUAGE = "whatsapp-template", "template", "language"
"""The form a WhatsApp template is sent in (its callback), and the block ids of its name and
language (the values of its variables are written in its FIELD)."""
VALUES = "The values of its variables {{1}}, {{2}}…, one a line"
"""The label of the field a WhatsApp template's values are written in."""


def _chosen(template: ApprovedTemplate) -> str:
    """An approved template as the form's choice carries it: name, language, how many values."""
    return f"{template.name} {template.language} {template.variables}"


TEMPLATE_WRONG = {
    "name": (TEMPLATE_NAME, "its name as WhatsApp Manager shows it: a-z, 0-9 and _ (order_update)"),
    "language": (TEMPLATE_LANGUAGE, "the language it was approved in: en_US, pt_BR, es…"),
    "parameters": (
        FIELD,
        "at most 100 values, one a line, without tabs or more than four spaces in a row",
    ),
}
"""What is wrong with a WhatsApp template's field (by its WhatsAppTemplate field), under it."""


def _template_wrong(wrong: ValidationError) -> dict[str, Any]:
    """The answer that keeps the WhatsApp template's form open, saying under each field what
    is wrong with it."""
    errors: dict[str, str] = {}
    for error in wrong.errors():
        block, why = TEMPLATE_WRONG[str(error["loc"][0])]
        errors.setdefault(block, why)
    return {"response_action": "errors", "errors": errors}


def _once(sent: ModalSubmission) -> str | None:
    """The idempotency key of a reply written in a form (its view: sent twice, one reply)."""
    return f"slack-view:{sent.view_id}" if sent.view_id else None


def _answering(case: MentionRecord) -> str:
    """The label of a reply's field: where it is posted, and whom it answers."""
    mention = case.message.mention
    return f"Your reply to {author_of(mention)}, posted on {mention.platform} as the brand"


def _offered(template: ReplyTemplate, case: MentionRecord, agent: str) -> str:
    """A saved reply as a form offers it: its id, then how it begins, filled in for the case's
    author by `agent` in their language where it has a translation (as it would be sent)."""
    text, _ = template.in_language(case.message.routing.language())
    return f"{template.id}: {shortened(render(text, case.message.mention, agent), 70)}"


def _quoted(case: MentionRecord) -> str:
    """What the customer wrote, as a reply's modal shows it above the field (mrkdwn)."""
    said = escaped(shortened(case.message.mention.text, 2500)) or "(no text)"
    return f"*{escaped(author_of(case.message.mention))}* wrote:\n> {said}"
