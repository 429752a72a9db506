"""The data Switchboard moves around: mentions, routing decisions and queue message schemas."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

ROUTED_MENTION_SCHEMA = "switchboard.routed-mention/v1"
RAW_DELIVERY_SCHEMA = "switchboard.raw-delivery/v1"
_REFUSED_BY_SQS = str.maketrans({"\ufffe": "\\ufffe", "\uffff": "\\uffff"})
"""The two characters SQS refuses in a message body that JSON writes as they are (it escapes
control characters, and a body has no lone surrogates): as escapes they read back the same."""


def sqs_json(model: BaseModel) -> str:
    """A model as JSON that SQS accepts as a message body."""
    return model.model_dump_json(by_alias=True).translate(_REFUSED_BY_SQS)


MentionKind = Literal["mention", "reply", "quote", "dm", "comment", "post", "review"]
Priority = Literal["low", "normal", "high", "urgent"]


def _language_code(code: str) -> str:
    if not re.fullmatch(r"[a-z]{2}", code):
        raise ValueError("a language is its ISO 639-1 code, as signals.lang has it: es, pt, fr")
    return code


LanguageCode = Annotated[str, AfterValidator(_language_code)]


def native_id(reference: str) -> str:
    """The platform's own id in a `platform:native-id` reference ("x:123" → "123")."""
    return reference.partition(":")[2]


MAX_ID_LENGTH = 400
"""The longest id of a post or an account Switchboard keeps (platforms' are tens of characters):
keys made of one stay within what DynamoDB takes (2,048 bytes), so a delivery naming a longer
one is unreadable, dead-lettered saying so, not retried in vain."""
PlatformId = Annotated[str, Field(max_length=MAX_ID_LENGTH)]


class Author(BaseModel):
    """Who wrote a mention, as far as the platform tells."""

    id: PlatformId | None = None
    handle: str | None = None
    name: str | None = None
    followers: int = 0
    verified: bool = False
    created_at: datetime | None = None  # when the account was opened, if the platform says
    labels: list[str] = Field(
        default_factory=list,
        description="what the brand's people labelled them (`vip`, `press`…) when the mention"
        " was routed (POST /authors/{author}/labels); rules read them as `author.labels`",
    )


QUOTED_TEXT_LIMIT = 1000
"""The characters of a quoted or answered post a mention carries: enough to know what the author
reacts to, while a long one (X's 25,000, Facebook's 63,206) cannot take the department message
and the case's record past what SQS and DynamoDB hold."""


def _cut(text: str) -> str:
    """`text`, or its first QUOTED_TEXT_LIMIT characters with an ellipsis."""
    return text if len(text) <= QUOTED_TEXT_LIMIT else text[: QUOTED_TEXT_LIMIT - 1] + "…"


class Quoted(BaseModel):
    """A post a mention quotes or answers: context for whoever answers, never read by the
    signals."""

    id: PlatformId
    text: Annotated[str, AfterValidator(_cut)] = ""
    author: str | None = Field(default=None, description="its author's handle")


class Attachment(BaseModel):
    """A file a customer sent with a message (a photo of the damage, a voice note, an invoice):
    what it is, and where to see it (`url`), or, where the platform keeps it behind its API
    (WhatsApp), its `media_id` there: GET /mentions/{id}/attachments/{n} fetches it."""

    kind: str = Field(description="image, video, audio, voice, document, sticker, file…")
    url: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    filename: str | None = None


class Mention(BaseModel):
    """A normalised inbound message from any platform (DESIGN.md §4)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(
        min_length=3, max_length=MAX_ID_LENGTH, description="platform:native-id, the dedupe key"
    )
    platform: str = Field(min_length=1)
    kind: MentionKind = "mention"
    text: str
    lang: str | None = None
    url: str | None = None
    created_at: datetime | None = None
    public: bool = True
    author: Author = Field(default_factory=Author)
    in_reply_to: PlatformId | None = None
    brand_account: PlatformId | None = None
    hashtags: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    rating: float | None = Field(default=None, description="star rating, for reviews")
    engagement: int = Field(
        default=0, ge=0, description="reposts, quotes, replies and likes the post had when read"
    )
    tagged_along: bool = Field(
        default=False,
        description="the brand's handle is only among the @names X puts in front of a reply to"
        " someone else: the author answered another user and never typed it",
    )
    standby: bool = Field(
        default=False,
        description="a Messenger or Instagram message Meta delivered on the standby channel:"
        " another app (a chatbot, Meta's own inbox or agent) holds the conversation; a reply"
        " takes it over",
    )
    edit_of: PlatformId | None = Field(
        default=None,
        description="the post this one is an edited version of, where the platform gives every"
        " edit an id of its own (X): it updates that post's case instead of opening another",
    )
    quoted: Quoted | None = Field(
        default=None,
        description="for a quote (X), the post it quotes, so the answer knows what the author"
        " is reacting to; the signals read the author's own text only",
    )
    attachments: list[Attachment] = Field(
        default_factory=list, description="the files sent with it (direct messages, Slack)"
    )
    replied_post: Quoted | None = Field(
        default=None,
        description="for a reply to one of the brand's own posts that continues no case (a"
        " campaign post, an announcement, a contest), that post, so whoever answers knows what"
        " the author answers, and rules can read it (`replied_post.text`); the signals read"
        " the author's own text only",
    )

    @property
    def native_id(self) -> str:
        """The platform's own id of the mention."""
        return native_id(self.id)

    @property
    def takes_private_reply(self) -> bool:
        """A Facebook or Instagram comment: a private reply (a message to its author) can
        answer it."""
        return self.platform in ("facebook", "instagram") and self.kind == "comment"

    @model_validator(mode="after")
    def _id_names_platform(self) -> Mention:
        for name, reference in (("id", self.id), ("edit_of", self.edit_of or self.id)):
            platform, _, native = reference.partition(":")
            if platform != self.platform or not native:
                raise ValueError(
                    f"{name} must look like '{self.platform}:<native-id>', got {reference!r}"
                )
        return self


class Conversation(BaseModel):
    """The earlier mention a reply continues, and the department Switchboard gave it."""

    model_config = ConfigDict(frozen=True)

    mention_id: str
    department: str


CaseState = Literal["waiting", "answered", "closed", "hidden", "deleted"]


class EarlierCase(BaseModel):
    """One of an author's earlier cases, as a department message lists it."""

    model_config = ConfigDict(frozen=True)

    id: str
    department: str
    routed_at: datetime
    state: CaseState = Field(
        description="waiting for a first response (escalated or not), answered, closed by a"
        " department, hidden by a moderator, or deleted by its author"
    )


class AgentSatisfaction(BaseModel):
    """How the customers one person answered rated the help (a department report's line)."""

    agent: str
    rated: int
    satisfaction: float = Field(description="the average score, 1 (poor) to 5 (great)")
    satisfied: float = Field(description="the share of 4s and 5s (CSAT)")


class PersonReport(BaseModel):
    """The first responses one person sent to a department's cases (a department report's
    line): how many, how many by their deadline, and how fast."""

    agent: str
    answered: int = Field(description="cases whose first response they sent")
    on_time: int = Field(description="of those, answered by their deadline")
    first_response_p50: float | None = Field(
        description="median seconds to their first responses; null when they sent none"
    )
    passed_on: int = Field(
        default=0,
        description="cases whose take (given or taken) ran out unanswered and were given to"
        " someone else by the minute's top-up",
    )


class DepartmentReport(BaseModel):
    """How a department did with the mentions routed to it within `days` (GET
    /departments/{department}/report): answered, on time, still waiting."""

    department: str
    days: int
    since: datetime
    mentions: int = Field(description="mentions routed to it (or handed over to it) since then")
    answered: int = Field(description="of those, answered (through Switchboard or on the platform)")
    on_time: int = Field(description="answered by their deadline")
    due: int = Field(
        description="answered, or past their deadline unanswered: the mentions the SLA was"
        " decided on"
    )
    sla_met: float | None = Field(description="on_time / due; null when nothing was due")
    first_response_p50: float | None = Field(description="median seconds to a first response")
    first_response_p90: float | None = Field(description="90th percentile, seconds")
    waiting: int = Field(description="still unanswered, not closed, hidden or deleted")
    overdue: int = Field(description="of those, past their deadline")
    escalated: int = Field(description="copied to the escalation target when overdue")
    closed: int = Field(description="closed without a reply")
    withdrawn: int = Field(description="hidden by a moderator or deleted by their author")
    handed_over: int = Field(
        description="cases routed to it in those days that people handed over to another"
        " department (counted there, not here)",
    )
    surveyed: int = Field(
        default=0, description="satisfaction surveys posted in those days about its cases"
    )
    rated: int = Field(
        default=0, description="satisfaction survey answers in those days about its cases"
    )
    response_rate: float | None = Field(
        default=None,
        description="rated / surveyed (at most 1: an answer can come the day after its survey);"
        " null when no survey was posted",
    )
    satisfaction: float | None = Field(
        default=None, description="their average score, 1 (poor) to 5 (great); null for none"
    )
    satisfied: float | None = Field(
        default=None, description="the share of them scoring 4 or 5 (CSAT); null for none"
    )
    by_agent: list[AgentSatisfaction] = Field(
        default_factory=list,
        description="the same for each person whose reply the survey followed, most rated first",
    )
    by_person: list[PersonReport] = Field(
        default_factory=list,
        description="each person who sent first responses through Switchboard in those days, or"
        " let a case they had run out, the most answered first",
    )
    truncated: bool = Field(
        description="more mentions than one report reads: the figures cover the newest"
    )


class History(BaseModel):
    """The author's earlier cases on the same platform within `days`, newest first (at most
    HISTORY_LIMIT): a customer writing again, maybe chasing an answer."""

    model_config = ConfigDict(frozen=True)

    days: int
    cases: list[EarlierCase]

    @property
    def waiting(self) -> int:
        """How many of those cases still wait for a first response."""
        return sum(case.state == "waiting" for case in self.cases)


HISTORY_LIMIT = 10
"""The most earlier cases of one author a department message lists (and `history.cases` counts)."""


class Transfer(BaseModel):
    """A department handing a case over to another: who, when and why."""

    model_config = ConfigDict(frozen=True)

    from_department: str
    to_department: str
    by: str
    at: datetime
    reason: str


class PriorityChange(BaseModel):
    """A person changing a case's priority (routing misjudged how urgent it is): from what, to
    what, who, when and why."""

    model_config = ConfigDict(frozen=True)

    from_priority: Priority
    to_priority: Priority
    by: str
    at: datetime
    reason: str


class Rating(BaseModel):
    """A customer's answer to the satisfaction survey (SATISFACTION_SURVEY): how they rate the
    help with a case, from 1 (poor) to 5 (great)."""

    model_config = ConfigDict(frozen=True)

    case: str = Field(description="the case rated: the mention that opened it")
    score: int = Field(ge=1, le=5)
    department: str = Field(description="the department that had the case when it was rated")
    agent: str | None = Field(default=None, description="who sent the reply the survey followed")


class MatchedRule(BaseModel):
    """A rule that fired, with the reason in words."""

    id: str
    why: str


SIGNALS = (
    "sentiment",
    "complaint",
    "severity",
    "influence",
    "spam",
    "readable",
    "addressed",
    "question",
    "purchase",
    "press",
    "legal",
    "safety",
)
"""The numeric signals every routed mention carries (and `lang`), each a rule's `signals.NAME`."""


class Routing(BaseModel):
    """Where a mention goes and why."""

    department: str
    also: list[str] = Field(default_factory=list)
    priority: Priority = "normal"
    tags: list[str] = Field(default_factory=list)
    ruleset_version: int = 0
    matched_rules: list[MatchedRule] = Field(default_factory=list)
    signals: dict[str, float | str | None] = Field(
        default_factory=dict,
        description="every signal: numbers, and `lang` (the mention's language, null when unknown)",
    )
    sla_due_at: datetime | None = None
    conversation: Conversation | None = None  # the routed mention this one continues
    history: History | None = Field(
        default=None,
        description="the author's earlier cases, when they opened any within AUTHOR_HISTORY_DAYS",
    )
    confidence: float | None = Field(
        default=None,
        description="the department model's probability for its choice when no rule decided"
        " (under the threshold: the mention went to triage); null when a rule or a conversation"
        " decided",
    )
    decided_by: str | None = Field(
        default=None,
        description="what chose the department: a rule's id, `classifier` (the department"
        " model) or `conversation` (the conversation it continues); null when nothing did and"
        " the mention went to triage",
    )
    transfers: list[Transfer] = Field(
        default_factory=list,
        description="the departments that handed the case over since it was routed, oldest"
        " first: `department` is where the last one sent it",
    )
    priority_changes: list[PriorityChange] = Field(
        default_factory=list,
        description="the people who changed the case's priority since it was routed, oldest"
        " first: `priority` is what the last one made it",
    )
    assigned_to: str | None = Field(
        default=None,
        description="who the new case was given to: the person on shift in the department whose"
        " turn it was, or whoever has the customer's earlier case it chases; theirs alone (a"
        " take) for ASSIGNMENT_MINUTES",
    )
    hide: str | None = Field(
        default=None,
        description="the rule that hides the comment on the platform (`then: {hide: true}`):"
        " the outbox worker hides it, and the record's `hidden_at` says when it was",
    )
    rates: Rating | None = Field(
        default=None,
        description="the mention answers the satisfaction survey: how its author rates the case"
        " (a bare rating goes to no department; one with more to say goes on like any message)",
    )

    def numeric_signals(self) -> dict[str, float]:
        """The signals rules compare as numbers (all but `lang`)."""
        return {k: v for k, v in self.signals.items() if isinstance(v, float | int)}

    def language(self) -> str | None:
        """The mention's language as routing knew it (`signals.lang`), None when unknown."""
        lang = self.signals.get("lang")
        return lang if isinstance(lang, str) else None

    @property
    def queues(self) -> list[str]:
        """Departments whose queue receives the mention (none when ignored)."""
        if self.department == "ignore":
            return []
        return list(dict.fromkeys([self.department, *self.also]))


class ReplyPointer(BaseModel):
    """How a department answers a routed mention."""

    route: str = "/replies"
    mention_id: str


class RoutedMention(BaseModel):
    """Body of every department queue message."""

    schema_: str = Field(default=ROUTED_MENTION_SCHEMA, alias="schema")
    mention: Mention
    routing: Routing
    reply: ReplyPointer

    model_config = ConfigDict(populate_by_name=True)

    def to_json(self) -> str:
        """The message body as sent to SQS."""
        return sqs_json(self)

    def tagged(self, tag: str, **routing: Any) -> RoutedMention:
        """A copy sent again for a reason (`tag`: one of the tags below), with these routing
        fields replaced; the case itself is unchanged."""
        update = {"tags": [*self.routing.tags, tag], **routing}
        return self.model_copy(update={"routing": self.routing.model_copy(update=update)})

    def queue_attributes(self) -> dict[str, str]:
        """The SQS message attributes consumers can filter on without reading the body."""
        return {
            "department": self.routing.department,
            "priority": self.routing.priority,
            "platform": self.mention.platform,
        }


SLA_BREACH = "sla-breach"
"""The tag of the copy of an overdue case sent to its escalation target, priority raised."""
EDITED = "edited"
"""The tag of the copy of a case its author edited (the new text)."""
ANSWERED = "answered"
"""The tag of the copy of a case the brand answered on the platform, outside Switchboard."""
HIDDEN, UNHIDDEN = "hidden", "unhidden"
"""The tags of the copies of a comment a Page moderator hid (off the SLA clock) or showed again."""
UNDELIVERED = "reply-undelivered"
"""The tag of the copy of a case whose reply the platform accepted but could not deliver."""
CLOSED, REOPENED = "closed", "reopened"
"""The tags of the copies of a case a department closed without a reply (off the SLA clock) or
opened again."""
GIVEN = "given"
"""The tag of the copy of a waiting case given to someone on shift after it was routed (the
minute's top-up: `routing.assigned_to` says who)."""
AWAITING_APPROVAL = "awaiting-approval"
"""The tag of the copy of a case sent to the department whose approval a reply to it needs."""
REPRIORITISED = "reprioritised"
"""The tag of the copy of a case whose priority a person changed (and, while it waits, its
deadline with it)."""
TRANSFERRED, HANDED_OVER = "transferred", "handed-over"
"""The tags of the copies of a case a department handed over to another: the whole case for the
department that has it now, and news of it for the one that let it go."""


class RawDelivery(BaseModel):
    """A verified webhook delivery as it sits on the intake queue, body untouched."""

    schema_: str = Field(default=RAW_DELIVERY_SCHEMA, alias="schema")
    platform: str
    body: str
    headers: dict[str, str] = Field(default_factory=dict)
    received_at: datetime
    body_key: str | None = Field(
        default=None,
        description="where the body waits in the payload bucket when it was too large for an"
        " SQS message (then `body` is empty)",
    )

    model_config = ConfigDict(populate_by_name=True)

    def to_json(self) -> str:
        """The message body as sent to the intake queue."""
        return sqs_json(self)


MentionStatus = Literal["routed", "ignored"]


MAX_NOTES = 50
"""Notes a case keeps (with the record's 400 KB item limit in mind)."""
MAX_NOTES_BYTES = 100_000
"""What the notes of a case may say in all, in UTF-8 bytes: 50 notes of 2,000 plain characters
(fewer in emoji or CJK); beside the record (a post of at most some 64,000 characters, Facebook's
longest) it leaves room within DynamoDB's 400 KB item for hand-overs and edits."""


class Note(BaseModel):
    """An internal note on a case, by a person, for the people working it."""

    by: str
    at: datetime
    text: str
    told: list[str] = Field(
        default_factory=list,
        description="who was told of it in their own chat (AGENT_CHANNELS): those it names"
        " with @, and whoever had the case taken",
    )

    @property
    def size(self) -> int:
        """What its text counts against MAX_NOTES_BYTES."""
        return len(self.text.encode())


ERASED = "(erased at the author's request)"
"""What is left of something people wrote about a customer who asked to be forgotten."""


class MentionRecord(BaseModel):
    """What Switchboard remembers about a routed mention (GET /mentions/{id})."""

    id: str
    status: MentionStatus
    routed_at: datetime
    message: RoutedMention
    first_response_at: datetime | None = None
    response_seconds: float | None = None
    first_response_post: str | None = Field(
        default=None,
        description="the brand's post that answered first (`platform:native-id`), sent through"
        " Switchboard or written on the platform",
    )
    first_response_by: str | None = Field(
        default=None,
        description="who sent the first response through Switchboard; null for an answer"
        " written on the platform",
    )
    escalated_at: datetime | None = None
    deleted_at: datetime | None = None  # its author deleted it: content emptied, no reply, no SLA
    forgotten_at: datetime | None = Field(
        default=None,
        description="its author asked to be forgotten (POST /authors/{author}/forget): deleted"
        " as above, and who they are, the quoted post, the link and the notes are gone too",
    )
    edited_at: datetime | None = None  # its author last edited it (the text is the edited one)
    hidden_at: datetime | None = None  # hidden on the platform: off the clock
    hidden_by: str | None = Field(
        default=None,
        description="who hid it through Switchboard (a person, or `rule:<id>`); null when the"
        " Page's moderators or filters hid it on the platform",
    )
    hidden_reason: str | None = None
    closed_at: datetime | None = None  # a department closed it without a reply: off the clock
    closed_by: str | None = None
    closed_reason: str | None = None
    taken_by: str | None = Field(
        default=None,
        description="who took the case to answer it (`POST /mentions/{id}/take`): others'"
        " replies are refused until `taken_until` unless forced",
    )
    taken_until: datetime | None = None
    given_back_by: str | None = Field(
        default=None,
        description="who last gave the case back (`POST /mentions/{id}/leave`): the shift"
        " top-up gives it to someone else",
    )
    passed_over: list[str] = Field(
        default_factory=list,
        description="who let the case go unanswered: their take of it ran out, or they gave it"
        " back, before the shift top-up gave it to someone else; it gives it to none of them"
        " again (a hand-over starts afresh)",
    )
    rating: int | None = Field(
        default=None,
        description="how the customer rated the help with the case (1-5), asked by the"
        " satisfaction survey",
    )
    rated_at: datetime | None = None
    notes: list[Note] = Field(
        default_factory=list,
        description="what people working the case noted for each other, oldest first"
        " (`POST /mentions/{id}/notes`); never sent to the customer",
    )
    versions: list[str] = Field(
        default_factory=list,
        description="the ids the platform gave the author's edits (X), oldest first: replies"
        " answer the last, which is what people see",
    )

    def no_room_for(self, note: Note) -> str | None:
        """Why the case cannot keep one more note (MAX_NOTES, MAX_NOTES_BYTES), or None."""
        if len(self.notes) >= MAX_NOTES:
            return f"{self.id} has {MAX_NOTES} notes, as many as a mention keeps"
        used = sum(n.size for n in self.notes)
        if used + note.size > MAX_NOTES_BYTES:
            return (
                f"{self.id}'s notes hold {used:,} bytes of the {MAX_NOTES_BYTES:,} a mention"
                f" keeps: this one ({note.size:,} bytes) does not fit"
            )
        return None

    def redacted(self, at: datetime) -> MentionRecord:
        """The record once the author deleted the mention: what they wrote is gone (text,
        hashtags, @names, links, files); who, where and how it was routed stay."""
        gone = {"text": "", "hashtags": [], "mentions": [], "urls": [], "attachments": []}
        return self._changed(gone, deleted_at=at)

    def forgotten(self, at: datetime) -> MentionRecord:
        """The record once its author asked to be forgotten: redacted as a deleted one, and who
        wrote it (name, handle, id), what it quoted or answered and its link gone too, with what
        people wrote about them (notes, why it was closed or handed over) and the rules' reasons
        (which can quote the text); where it was routed, by which rules, and how it was answered
        stay, for the reports."""
        gone = {"author": Author(), "quoted": None, "replied_post": None, "url": None}
        redacted = self.redacted(self.deleted_at or at)._changed(gone, forgotten_at=at)
        routing = redacted.message.routing
        kept = {
            "transfers": [t.model_copy(update={"reason": ERASED}) for t in routing.transfers],
            "matched_rules": [MatchedRule(id=m.id, why=ERASED) for m in routing.matched_rules],
        }  # a rule's why can quote the text (`text matches /…/ at '…'`)
        message = redacted.message.model_copy(update={"routing": routing.model_copy(update=kept)})
        closed = ERASED if self.closed_reason is not None else None
        hidden = ERASED if self.hidden_reason is not None else None
        update = {"message": message, "notes": [], "closed_reason": closed, "hidden_reason": hidden}
        return redacted.model_copy(update=update)

    @property
    def gone(self) -> str | None:
        """Why the mention is no longer there to answer (deleted, or its author forgotten)."""
        if self.forgotten_at is not None:
            return "was erased at its author's request"
        return "was deleted by its author" if self.deleted_at is not None else None

    def edited(self, text: str, at: datetime) -> MentionRecord:
        """The record with the text its author changed the mention to."""
        return self._changed({"text": text}, edited_at=at)

    def with_version(self, version: Mention, at: datetime) -> MentionRecord:
        """The record once its author edited the post into `version`, a post of its own (X):
        its text, entities and link are the case's now, and replies answer it."""
        fields = ("text", "lang", "url", "hashtags", "mentions", "urls")
        changed = self._changed({name: getattr(version, name) for name in fields}, edited_at=at)
        return changed.model_copy(update={"versions": [*self.versions, version.id]})

    def names(self, mention_id: str) -> bool:
        """Whether `mention_id` is this case's post in one of its versions: the first, a later
        edit, or the unseen first version of the edit that opened the case."""
        first = self.message.mention.edit_of
        return mention_id == self.id or mention_id in self.versions or mention_id == first

    def transferred(self, transfer: Transfer) -> MentionRecord:
        """The record once its department handed it over: the new department has it (no longer
        as a copy, if it had one), and the hand-over joins the routing's transfers."""
        routing = self.message.routing
        update = {
            "department": transfer.to_department,
            "also": [d for d in routing.also if d != transfer.to_department],
            "transfers": [*routing.transfers, transfer],
        }
        message = self.message.model_copy(update={"routing": routing.model_copy(update=update)})
        return self.model_copy(update={"message": message})

    def taker(self, now: datetime) -> str | None:
        """Who has the case taken to answer it at `now` (a take ends by itself)."""
        until = self.taken_until
        return self.taken_by if until is not None and until > now else None

    def answerable(self) -> Mention:
        """The mention as replies address it: under the id of its last version."""
        mention = self.message.mention
        return mention.model_copy(update={"id": self.versions[-1]}) if self.versions else mention

    def _changed(self, mention: dict[str, Any], **record: datetime) -> MentionRecord:
        """A copy with these mention fields and record fields replaced."""
        changed = self.message.mention.model_copy(update=mention)
        message = self.message.model_copy(update={"mention": changed})
        return self.model_copy(update={"message": message, **record})


class TransferRequest(BaseModel):
    """Body of POST /mentions/{id}/transfer: the department to hand the case over to, and why."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=500)


class PriorityRequest(BaseModel):
    """Body of POST /mentions/{id}/priority: the case's priority from now on, and why."""

    model_config = ConfigDict(extra="forbid")

    priority: Priority
    reason: str = Field(min_length=1, max_length=500)


DEFAULT_TAKE_MINUTES = 30
"""How long a take lasts when nobody says."""


class TakeRequest(BaseModel):
    """Body of POST /mentions/{id}/take: for how long (a take ends by itself), and for whom
    (`for`: a lead handing the case to a colleague; else the caller)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    minutes: int = Field(default=DEFAULT_TAKE_MINUTES, ge=1, le=480)
    assignee: str | None = Field(default=None, alias="for", min_length=1, max_length=100)


class ShiftRequest(BaseModel):
    """Body of POST /departments/{department}/shifts: for how long, and for whom (`for`: a
    lead putting a colleague on shift; else the caller)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    hours: float = Field(default=8, gt=0, le=24)
    agent: str | None = Field(default=None, alias="for", min_length=1, max_length=100)
    capacity: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="the most waiting cases of the department they are given at once",
    )
    languages: list[LanguageCode] = Field(
        default_factory=list,
        max_length=20,
        description="the languages they answer in (ISO 639-1); none: any",
    )


class AwayRequest(BaseModel):
    """Body of POST /departments/{department}/shifts/away: whose shift (`for`; else the
    caller's), away (given no new case, keeping what they have) or back."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    agent: str | None = Field(default=None, alias="for", min_length=1, max_length=100)
    away: bool = True


class ShiftEndRequest(BaseModel):
    """Body of POST /departments/{department}/shifts/end: whose shift (`for`; else the
    caller's)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    agent: str | None = Field(default=None, alias="for", min_length=1, max_length=100)


class Shift(BaseModel):
    """Someone on shift in a department: its new cases are shared out among them, the one
    with the fewest waiting cases first."""

    department: str
    agent: str
    until: datetime = Field(description="when the shift ends by itself")
    capacity: int | None = Field(
        default=None,
        description="the most waiting cases they are given at once (none: no limit); a full "
        "person is given no new case until they answer one",
    )
    languages: list[str] = Field(
        default_factory=list,
        description="the languages they answer in: a case in another (known) language is not"
        " given to them; empty: any",
    )
    away: bool = Field(
        default=False,
        description="on a break: given no new case and not topped up, keeping what they have",
    )
    last_assigned_at: datetime | None = Field(
        default=None,
        description="when they were last given a new case (of those holding as few, the longest ago"
        " is next)",
    )
    holding: int | None = Field(
        default=None,
        description="how many of the department's waiting cases they have now (listings only)",
    )

    def full(self, holding: int) -> bool:
        """Whether, holding `holding` waiting cases, they are given no new one."""
        return self.capacity is not None and holding >= self.capacity

    def takes_cases(self, holding: int, lang: str | None) -> bool:
        """Whether a new case in `lang` may be given to them while they hold `holding`."""
        return not self.away and not self.full(holding) and self.answers_in(lang)

    def answers_in(self, lang: str | None) -> bool:
        """Whether a case in `lang` (None: unknown) may be given to them."""
        return not self.languages or lang is None or lang in self.languages


class Roster(BaseModel):
    """Who is on shift in a department (GET /departments/{department}/shifts)."""

    department: str
    on_shift: list[Shift] = Field(description="next to be given a new case first")
    unassigned: int = Field(
        description="its waiting cases nobody has now (of the 200 due soonest): waiting for"
        " anyone, or for someone on shift to have room"
    )
    awaiting_approval: int = Field(
        default=0,
        description="of its waiting cases nobody has, those answered with a reply waiting for"
        " approval (not among `unassigned`): given to nobody meanwhile",
    )


class ShiftEnded(BaseModel):
    """What ending a shift did (POST /departments/{department}/shifts/end)."""

    department: str
    agent: str
    ended: bool = Field(description="false when they were not on shift")
    released: list[str] = Field(
        description="the waiting cases they had, now free for anyone to take"
    )


class NextCase(BaseModel):
    """Answer of POST /departments/{department}/next."""

    department: str
    next: MentionRecord | None = Field(
        description="the case now taken by the caller, null when every waiting one is taken"
    )
    languages: list[str] = Field(
        default_factory=list,
        description="the languages of the caller's shift, the only ones (with none known) a"
        " case was taken in; empty: any",
    )
    back: bool = Field(
        default=False,
        description="true when the caller was away from their shift there: asking for a case"
        " ended the break",
    )


class NoteRequest(BaseModel):
    """Body of POST /mentions/{id}/notes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=2_000)


class ReasonRequest(BaseModel):
    """Body of POST /mentions/{id}/close (why no reply is needed) and of POST
    /replies/{id}/reject (why the reply must not be posted)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class ApproveRequest(BaseModel):
    """Body of POST /replies/{id}/approve."""

    model_config = ConfigDict(extra="forbid")

    force: bool = Field(
        default=False,
        description="approve it even though its case was answered or closed since it was written",
    )


class ForgetRequest(ReasonRequest):
    """Body of POST /authors/{author}/forget: why (the request's reference), and whether only to
    say what would be erased (`dry_run`)."""

    dry_run: bool = False


LABEL = r"^[a-z0-9][a-z0-9-]{0,39}$"
"""An author label: a lowercase slug (`vip`, `press`, `key-account`)."""
Label = Annotated[str, Field(pattern=LABEL)]
MAX_LABELS = 20
"""The most labels one author carries."""


class LabelRequest(BaseModel):
    """Body of POST /authors/{author}/labels: labels to give the author and to take away
    (lowercase letters, digits and dashes, up to 40 characters)."""

    model_config = ConfigDict(extra="forbid")

    add: list[Label] = Field(default_factory=list, max_length=MAX_LABELS)
    remove: list[Label] = Field(default_factory=list, max_length=MAX_LABELS)

    @model_validator(mode="after")
    def _something_to_do(self) -> LabelRequest:
        if not self.add and not self.remove:
            raise ValueError("name labels to add or to remove")
        if set(self.add) & set(self.remove):
            raise ValueError("a label is either added or removed, not both")
        return self


class AuthorLabels(BaseModel):
    """An author's labels (GET and POST /authors/{author}/labels)."""

    author: str
    labels: list[str] = Field(description="sorted")


class ForgetResult(BaseModel):
    """Answer of POST /authors/{author}/forget."""

    author: str
    dry_run: bool
    mentions: list[str] = Field(description="the author's mentions erased (a dry run: found)")
    replies: int = Field(description="replies to them whose text was erased (a dry run: found)")
    labels: list[str] = Field(
        default_factory=list, description="the labels they carried, taken away (a dry run: found)"
    )
    more: bool = Field(
        description="there may be more (the API ran out of time, or found a call's 200): call"
        " again for the rest"
    )


class CloseMatchingRequest(ReasonRequest):
    """Body of POST /departments/{department}/close: which waiting cases to close (a rule's
    `when`), why, at most how many, and whether only to say which (`dry_run`)."""

    when: dict[str, Any] = Field(min_length=1)
    dry_run: bool = False
    limit: int = Field(default=100, ge=1, le=200)


class FindRequest(BaseModel):
    """Body of POST /mentions/search: which mentions (a rule's `when`), routed within the last
    `days` days, and at most how many to list."""

    model_config = ConfigDict(extra="forbid")

    when: dict[str, Any] = Field(min_length=1)
    days: int = Field(default=1, ge=1, le=90)
    limit: int = Field(default=50, ge=1, le=200)


class FoundMention(BaseModel):
    """A mention a search matched: what it says, why it matched, and where its case stands."""

    mention: Mention
    routed_at: datetime
    why: str
    department: str | None = Field(
        default=None, description="the department that has it now (`ignore`: routing ignored it)"
    )
    state: CaseState | None = Field(default=None, description="null for an ignored mention")
    taken_by: str | None = None
    hidden: bool = Field(default=False, description="hidden on its platform")


class FindResult(BaseModel):
    """Answer of POST /mentions/search: how many of the mentions routed in those days matched,
    by platform and by day, and the newest of them."""

    days: int
    scanned: int = Field(description="the mentions read, newest first")
    all_read: bool = Field(
        description="false: more were routed in those days than one search reads"
    )
    matched: int
    by_platform: dict[str, int]
    by_day: dict[str, int] = Field(description="UTC dates, newest first")
    mentions: list[FoundMention] = Field(description="the newest `limit` of those matched")


class HideMatchingRequest(FindRequest):
    """Body of POST /mentions/hide: hide on their platforms the comments a search finds, why,
    and whether only to say which (`dry_run`)."""

    reason: str = Field(min_length=1, max_length=500)
    dry_run: bool = False


class NotHidden(BaseModel):
    """A comment a hide-matching call could not hide, and why."""

    mention: Mention
    why: str


class HideMatchingResult(BaseModel):
    """Answer of POST /mentions/hide."""

    days: int
    dry_run: bool
    reason: str
    matched: int = Field(description="mentions of those days the condition matches")
    hidden: list[FoundMention] = Field(description="hidden now (a dry run: would be)")
    failed: list[NotHidden] = Field(description="the platform did not hide them, its words")
    left: int = Field(
        description="matching, but hidden already, deleted, or where their platform hides nothing"
    )
    more: bool = Field(description="more to hide than one call did: call again")
    all_read: bool = Field(
        description="false: only the newest 200 matches were looked at (narrow the condition or"
        " the days for older ones)"
    )


class SweptCase(BaseModel):
    """A waiting case a condition matched: what it says and why it matched."""

    mention: Mention
    why: str
    taken_by: str | None = Field(default=None, description="who has it taken (left alone)")


class CloseMatchingResult(BaseModel):
    """Answer of POST /departments/{department}/close."""

    department: str
    dry_run: bool
    reason: str
    waiting: int = Field(description="waiting cases read, soonest deadline first")
    all_read: bool = Field(description="false: more wait than one call reads")
    closed: list[SweptCase] = Field(description="closed (a dry run: would be)")
    taken: list[SweptCase] = Field(description="matching, but someone has them taken: left")
    more: bool = Field(description="more match than `limit`: call again")


ReplyStatus = Literal[
    "pending", "rejected", "queued", "sending", "sent", "failed", "uncertain", "undelivered"
]


TEMPLATE_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"
MAX_TRANSLATIONS = 50
MAX_TEMPLATE_BYTES = 100_000
"""What a saved reply's text and translations may take in all (UTF-8), within its DynamoDB item."""


TemplateText = Annotated[str, Field(min_length=1, max_length=10_000)]
Translations = Annotated[
    dict[LanguageCode, TemplateText],
    Field(max_length=MAX_TRANSLATIONS),
]


class TemplateRequest(BaseModel):
    """Body of PUT /templates/{id}."""

    model_config = ConfigDict(extra="forbid")

    text: TemplateText
    language: LanguageCode | None = Field(
        default=None, description="the language `text` is in, if it matters"
    )
    translations: Translations = Field(
        default_factory=dict, description="the same reply in other languages, by ISO 639-1 code"
    )

    @model_validator(mode="after")
    def _translations_are_other_languages(self) -> TemplateRequest:
        if self.language is not None and self.language in self.translations:
            raise ValueError(f"text is in {self.language} already: translate it into others")
        size = sum(len(text.encode()) for text in [self.text, *self.translations.values()])
        if size > MAX_TEMPLATE_BYTES:
            raise ValueError(
                f"text and translations take {size:,} bytes; a saved reply holds at most"
                f" {MAX_TEMPLATE_BYTES:,}"
            )
        return self


class ReplyTemplate(TemplateRequest):
    """A saved reply departments answer with (`{name}` and `{handle}` filled in per mention):
    `text`, and the same in other languages, `translations` by language code."""

    id: str = Field(pattern=TEMPLATE_ID)
    updated_by: str
    updated_at: datetime

    def in_language(self, lang: str | None) -> tuple[str, str | None]:
        """The text to answer someone writing in `lang` with, and its language: a translation
        into `lang` if there is one, else `text` (in `language`, maybe None)."""
        if lang is not None and lang in self.translations:
            return self.translations[lang], lang
        return self.text, self.language

    @property
    def languages(self) -> list[str]:
        """The languages it is known to be written in: `language`, then the translations'."""
        return [*([self.language] if self.language else []), *sorted(self.translations)]


def _template_parameter(value: str) -> str:
    if not value.strip() or re.search(r"[\n\t]| {5}", value):
        raise ValueError(
            "a WhatsApp template parameter is some text without new lines, tabs or more than"
            " four spaces in a row (WhatsApp refuses those)"
        )
    return value


WHATSAPP_LANGUAGE = r"[a-z]{2,3}(_[A-Z]{2})?"
"""A language as WhatsApp approves a template in: en, en_US, pt_BR."""


class WhatsAppTemplate(BaseModel):
    """A message template approved in WhatsApp Manager, the only message WhatsApp lets a
    business send more than 24 hours after the customer last wrote: its name, the language it
    was approved in, and the values of its body's variables ({{1}}, {{2}}…) in order."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$", description="as approved: order_update")
    language: str = Field(
        pattern=f"^{WHATSAPP_LANGUAGE}$", description="as approved: en_US, pt_BR, es"
    )
    parameters: list[Annotated[str, AfterValidator(_template_parameter)]] = Field(
        default_factory=list, max_length=100
    )

    def describe(self) -> str:
        """How the reply reads in Switchboard (WhatsApp alone knows the template's wording)."""
        values = f": {' | '.join(self.parameters)}" if self.parameters else ""
        return f"[WhatsApp template {self.name} ({self.language})]{values}"


class ReplyRequest(BaseModel):
    """Body of POST /replies: the `text`, the `template` (a saved reply) to answer with, or,
    for WhatsApp, the `whatsapp_template`."""

    model_config = ConfigDict(extra="forbid")

    mention_id: str
    text: str = ""
    template: str | None = Field(default=None, description="a saved reply's id, instead of text")
    language: str | None = Field(
        default=None,
        description="with a template: the language to answer in, instead of the mention's",
    )
    department: str | None = None
    idempotency_key: str | None = Field(default=None, max_length=200)
    private: bool = Field(default=False, description="answer a public comment by private message")
    force: bool = Field(
        default=False, description="answer even though someone else took the case to answer it"
    )
    whatsapp_template: WhatsAppTemplate | None = Field(
        default=None, description="a WhatsApp message template to send, instead of text"
    )
    survey: bool = Field(
        default=False,
        description="once the reply is posted, ask the customer to rate the help"
        " (SATISFACTION_SURVEY; in a direct conversation)",
    )

    @model_validator(mode="after")
    def _text_or_template(self) -> ReplyRequest:
        given = [bool(self.text.strip()), self.template is not None, self.whatsapp_template]
        if sum(map(bool, given)) > 1:
            raise ValueError("send text, a template or a WhatsApp template: one of them")
        if self.template is None and self.whatsapp_template is None and not self.text:
            raise ValueError("send the reply's text, or a template to answer with")
        if self.language is not None and self.template is None:
            raise ValueError("a language chooses a template's translation: send a template")
        return self


UNSENT: tuple[ReplyStatus, ...] = ("pending", "queued")
"""Reply states nothing has been posted from yet, nor begun to be."""


class Reply(BaseModel):
    """A reply on its way to, or at, the platform (GET /replies/{id})."""

    reply_id: str
    mention_id: str
    platform: str
    text: str
    template: str | None = Field(default=None, description="the saved reply it was written from")
    template_language: str | None = Field(
        default=None, description="the template's language it was written in, if named"
    )
    whatsapp_template: WhatsAppTemplate | None = Field(
        default=None, description="the WhatsApp message template sent; `text` describes it"
    )
    department: str | None = None
    author: str = "admin"
    private: bool = False
    automatic: bool = Field(
        default=False,
        description="sent by Switchboard itself (AWAY_MESSAGE, SATISFACTION_SURVEY): it answers"
        " nothing, the SLA clock runs on",
    )
    survey: bool = Field(
        default=False, description="the satisfaction survey follows it once it is posted"
    )
    quick_replies: list[str] = Field(
        default_factory=list,
        description="buttons sent with it (Messenger and Instagram quick replies, the rows of a"
        " WhatsApp list): the customer taps one to answer with its title",
    )
    status: ReplyStatus = "queued"
    attempts: int = 0
    last_error: str | None = None
    platform_reply_id: str | None = None
    platform_reply_url: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    answered: list[str] = Field(
        default_factory=list,
        description="once sent, the mentions whose SLA clock it stopped: the one it answers and"
        " what it answers with it (what the customer wrote before it in the conversation, the"
        " earlier cases they chased)",
    )
    delivered_at: datetime | None = Field(
        default=None, description="when it reached the customer's phone, where the platform says"
    )
    read_at: datetime | None = Field(
        default=None, description="when the customer read it, where the platform says (WhatsApp)"
    )
    messaging_tag: str | None = None
    approval_department: str | None = Field(
        default=None,
        description="the department whose approval the reply needs (APPROVAL_DEPARTMENTS): the"
        " case's, else the answering department's; null when it needs none",
    )
    reviewed_by: str | None = Field(
        default=None, description="who approved (or rejected) a reply that needed approval"
    )
    reviewed_at: datetime | None = None
    rejected_reason: str | None = None

    def erased(self, why: str) -> Reply:
        """The reply once the customer it answers asked to be forgotten: what it says (text,
        template parameters) is gone, and one not posted yet (pending, queued) never will be
        (`failed`, `why`)."""
        stopped = {"status": "failed", "last_error": why} if self.status in UNSENT else {}
        return self.model_copy(update={"text": "", "whatsapp_template": None, **stopped})
