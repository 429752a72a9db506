"""Which cases alert which channels, and what an alert says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from chalicelib.models import (
    Author,
    Mention,
    MentionRecord,
    Priority,
    PriorityChange,
    Quoted,
    Reply,
    ReplyPointer,
    RoutedMention,
    Routing,
)
from chalicelib.services.alerts import (
    agent_alert,
    holder_priority_alert,
    new_case_alerts,
    note_alerts,
    notice_message,
    unposted_alert,
)
from chalicelib.settings import Settings
from chalicelib.stores.queues import OutgoingMessage

SETTINGS = Settings(alert_channels={"pr": "C0PR", "support": "C0SHARED", "marketing": "C0SHARED"})


def case(
    priority: Priority, department: str = "pr", also: list[str] | None = None
) -> RoutedMention:
    mention = Mention(
        id="x:1",
        platform="x",
        text="<@U0ALL> <!channel> fish & chips made us ill",
        author=Author(handle="sam<script>", followers=12),
    )
    routing = Routing(department=department, also=also or [], priority=priority)
    return RoutedMention(mention=mention, routing=routing, reply=ReplyPointer(mention_id="x:1"))


def texts(message: RoutedMention, settings: Settings = SETTINGS) -> dict[str, str]:
    return {
        channel: json.loads(alert.body)["alert"]["text"]
        for channel, alert in new_case_alerts(message, settings).items()
    }


def test_only_cases_at_the_alert_priority_or_above_alert_each_channel_once() -> None:
    assert texts(case("high")) == {}
    assert set(texts(case("urgent", also=["support", "marketing"]))) == {"C0PR", "C0SHARED"}
    assert set(texts(case("urgent", department="triage"))) == set()  # no channel for triage
    lower = SETTINGS.model_copy(update={"alert_priority": "high"})
    assert set(texts(case("high"), lower)) == {"C0PR"}
    ignored = case("urgent", department="ignore")
    assert texts(ignored) == {}


def test_an_author_with_an_alert_label_alerts_whatever_the_priority() -> None:
    press = SETTINGS.model_copy(update={"alert_labels": ["press"]})
    journalist = case("normal")
    author = journalist.mention.author.model_copy(update={"labels": ["press", "vip"]})
    journalist.mention = journalist.mention.model_copy(update={"author": author})
    [text] = texts(journalist, press).values()
    assert text.startswith("*[NORMAL] new case for pr from someone labelled press*: x mention")
    assert texts(journalist, SETTINGS) == {}  # no label alerts unless named
    with pytest.raises(ValidationError, match="ALERT_LABELS: 'Press' is no label"):
        Settings(alert_labels="Press")
    assert Settings.from_env({"ALERT_LABELS": "press, vip"}).alert_labels == ["press", "vip"]


def test_what_a_customer_wrote_cannot_ping_or_format_the_channel() -> None:
    [text] = texts(case("urgent")).values()
    assert (
        text.splitlines()[0]
        == "*[URGENT] new case for pr*: x mention by sam&lt;script&gt; (12 followers)"
    )
    assert text.splitlines()[1] == "> &lt;@U0ALL&gt; &lt;!channel&gt; fish &amp; chips made us ill"
    assert text.splitlines()[-1] == "`switchboard mention x:1`"  # no link: the post has no URL


def test_an_alert_says_what_the_author_answers_escaped_in_slack_subtle_in_teams() -> None:
    message = case("urgent")
    launch = Quoted(id="x:9", text="Meet the *Blend 3000* <!here>", author="AcmeHelp")
    message.mention = message.mention.model_copy(update={"kind": "reply", "replied_post": launch})
    [text] = texts(message).values()
    assert text.splitlines()[2] == "_answering @AcmeHelp: Meet the *Blend 3000* &lt;!here&gt;_"
    teams = SETTINGS.model_copy(update={"alert_channels": {"pr": "teams:pr-leads"}})
    [alert] = new_case_alerts(message, teams).values()
    card = json.loads(alert.body)["alert"]["card"]["attachments"][0]["content"]
    [run] = card["body"][2]["inlines"]
    assert run == {
        "type": "TextRun",
        "text": "answering @AcmeHelp: Meet the *Blend 3000* <!here>",
        "isSubtle": True,
    }
    assert "answering" not in texts(case("urgent"))["C0PR"]


def test_alert_channels_name_departments() -> None:
    with pytest.raises(ValidationError, match="ALERT_CHANNELS: 'legal' is not a department"):
        Settings(alert_channels={"legal": "C0LEGAL"})
    assert Settings.from_env({"ALERT_CHANNELS": '{"pr": "C0PR"}'}).alert_channels == {"pr": "C0PR"}


def test_a_teams_channel_gets_a_card_whose_text_nothing_a_customer_wrote_can_format() -> None:
    settings = SETTINGS.model_copy(update={"alert_channels": {"pr": "teams:pr-leads"}})
    message = case("urgent")
    message.mention = message.mention.model_copy(
        update={"text": "**[free money](http://phish.example)** <at>everyone</at>"}
    )
    [(channel, alert)] = new_case_alerts(message, settings).items()
    job = json.loads(alert.body)["alert"]
    assert (channel, job["channel"], job["heading"]) == (
        "teams:pr-leads",
        "teams:pr-leads",
        "[URGENT] new case for pr",
    )
    [attachment] = job["card"]["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    lines = [[run["text"] for run in block["inlines"]] for block in card["body"]]
    assert lines[0] == ["[URGENT] new case for pr", ": x mention by sam<script> (12 followers)"]
    # plain text runs: shown as written, never read as markdown or mentions
    assert lines[1] == ["**[free money](http://phish.example)** <at>everyone</at>"]
    assert all(block["type"] == "RichTextBlock" for block in card["body"])
    assert lines[-1] == ["switchboard mention x:1"]
    assert "actions" not in card  # the post has no URL to open


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"ALERT_CHANNELS": '{"pr": "teams:"}'}, "names no Teams webhook"),
        ({"ALERT_CHANNELS": '{"pr": "teams:PR Leads"}'}, "names no Teams webhook"),
        ({"TEAMS_WEBHOOKS": '{"PR": "https://example.com/w"}'}, "'PR' is no name"),
        ({"TEAMS_WEBHOOKS": '{"leads": "ftp://example.com/w"}'}, "'leads': not a URL"),
        ({"AGENT_CHANNELS": '{"maya": "teams:Maya"}'}, "AGENT_CHANNELS 'maya': 'teams:Maya'"),
        ({"AGENT_CHANNELS": '{"maya": " "}'}, "AGENT_CHANNELS 'maya': no channel"),
    ],
)
def test_teams_channels_and_webhooks_are_checked_at_start(env: dict[str, str], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Settings.from_env(env)


def test_someone_is_told_of_a_case_given_to_them_only_where_their_chat_is_named() -> None:
    settings = Settings(agent_channels={"maya": "U0MAYA", "sam": "teams:sam"})
    given_to_maya = case("high").tagged("given", assigned_to="maya")
    assert agent_alert(given_to_maya, "lee", settings) is None
    channel, alert = agent_alert(given_to_maya, "maya", settings) or ("", None)
    assert channel == "U0MAYA" and alert is not None
    text = json.loads(alert.body)["alert"]["text"]
    assert text.startswith(
        "*[HIGH] a pr case given to you, on shift*: x mention by sam&lt;script&gt;"
    )
    passed = case("low", "support").tagged("given", assigned_to="sam")
    teams = agent_alert(passed, "sam", settings, passed_from="maya")
    assert teams is not None
    card = json.loads(teams[1].body)["alert"]["card"]
    first = card["attachments"][0]["content"]["body"][0]["inlines"][0]["text"]
    why = "(passed on from maya, who did not answer it)"
    assert first == f"[LOW] a support case given to you, on shift {why}"
    # what the customer of a case she has writes again, given to nobody itself
    _, again = agent_alert(case("normal"), "maya", settings) or ("", None)
    assert again is not None
    assert json.loads(again.body)["alert"]["text"].startswith(
        "*[NORMAL] sam&lt;script&gt; wrote again on your pr case*"
    )


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("@lee can you check?", ["lee"]),
        ("thanks, @Lee.", ["lee"]),  # their name in any case, a full stop after it
        ("@lee and @maya.k: see above; @lee again", ["lee", "maya.k"]),  # each once
        ("write to lee@acme.com or @@lee", []),  # an e-mail address names nobody
        ("@leeroy @dana_r (the customer)", []),  # only names AGENT_CHANNELS has
        ("@sam wrote this", []),  # never the note's writer
    ],
)
def test_a_note_tells_the_people_it_names_with_at(text: str, told: list[str]) -> None:
    settings = Settings(agent_channels={"lee": "U0LEE", "maya.k": "U0MAYA", "sam": "U0SAM"})
    now = datetime(2026, 11, 24, tzinfo=UTC)
    record = MentionRecord(id="x:1", status="routed", routed_at=now, message=case("normal"))
    assert list(note_alerts(record, "sam", text, settings, now)) == told


def buttons(alert: tuple[str, OutgoingMessage] | None) -> list[str]:
    """The action ids of the buttons on an alert to someone's own chat."""
    assert alert is not None
    blocks = json.loads(alert[1].body)["alert"].get("blocks", [])
    elements = [b for block in blocks if block["type"] == "actions" for b in block["elements"]]
    return [element["action_id"] for element in elements if element["type"] == "button"]


def test_what_is_theirs_comes_to_someones_own_chat_with_reply_and_give_back() -> None:
    settings = Settings(agent_channels={"lee": "U0LEE", "maya": "U0MAYA"}, alert_buttons=True)
    now = datetime(2026, 11, 24, tzinfo=UTC)
    record = MentionRecord(
        id="x:1",
        status="routed",
        routed_at=now,
        message=case("normal"),
        taken_by="maya",
        taken_until=now + timedelta(minutes=30),
    )
    assert buttons(agent_alert(record.message, "maya", settings, given_by="lee")) == [
        "reply",
        "leave",
    ]
    again = agent_alert(record.message, "maya", settings)  # the customer wrote again
    assert buttons(again) == ["reply"]  # giving back is the case's, not this message's
    told = note_alerts(record, "sam", "@lee have a look", settings, now)
    assert buttons(told["maya"]) == ["reply", "leave"]
    assert buttons(told["lee"]) == ["reply", "leave"]  # as the channel has them: maya's to press
    free = record.model_copy(update={"taken_by": None, "taken_until": None})
    assert buttons(note_alerts(free, "sam", "@lee have a look", settings, now)["lee"]) == [
        "take",
        "reply",
    ]
    change = PriorityChange(
        from_priority="normal", to_priority="high", by="sam", at=now, reason="a VIP"
    )
    assert buttons(holder_priority_alert(record, change, settings, now)) == ["reply", "leave"]
    off = settings.model_copy(update={"alert_buttons": False})
    assert buttons(agent_alert(record.message, "maya", off, given_by="lee")) == []


def test_the_author_of_a_reply_the_platform_refused_is_told_why_in_their_own_chat() -> None:
    settings = Settings(agent_channels={"maya": "U0MAYA"})
    refused = Reply(
        reply_id="r_1",
        mention_id="x:1",
        platform="x",
        text="Sorry!",
        author="maya",
        status="failed",
        last_error="403: You are not allowed to reply to this post",
        created_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
    )
    told = unposted_alert(case("high"), refused, settings)
    assert told is not None and told[0] == "U0MAYA"
    heading = json.loads(told[1].body)["alert"]["heading"]
    assert heading == (
        "[HIGH] your reply (r_1) to a pr case was not posted:"
        " 403: You are not allowed to reply to this post"
    )
    unknown = refused.model_copy(update={"status": "uncertain", "last_error": "timed out"})
    told = unposted_alert(case("high"), unknown, settings)
    assert told is not None
    assert json.loads(told[1].body)["alert"]["heading"] == (
        "[HIGH] your reply (r_1) to a pr case may not have been posted (timed out):"
        " look on x before answering again"
    )
    given_up = refused.model_copy(update={"status": "queued", "last_error": "X server error 503"})
    told = unposted_alert(case("high"), given_up, settings)
    assert told is not None
    assert json.loads(told[1].body)["alert"]["heading"] == (
        "[HIGH] your reply (r_1) to a pr case is not posted yet (X server error 503): it waits in"
        " the outbox's dead-letter queue for an admin to send it again"
        " (`switchboard dlq outbox --redrive`)"
    )
    by_the_api = refused.model_copy(update={"author": "admin"})  # no chat of theirs
    assert unposted_alert(case("high"), by_the_api, settings) is None


def test_a_notice_with_no_case_behind_it_is_one_escaped_line_in_slack_or_teams() -> None:
    slack = json.loads(notice_message("U0ADMIN", "reply <r_1> to x:1 was not posted").body)
    assert slack["alert"]["text"] == "*reply &lt;r_1&gt; to x:1 was not posted*"
    teams = json.loads(notice_message("teams:leads", "reply <r_1> was not posted").body)
    card = json.dumps(teams["alert"]["card"])
    assert "reply <r_1> was not posted" in card and "text" not in teams["alert"]
