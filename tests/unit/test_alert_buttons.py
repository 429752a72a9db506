"""The Slack side of the buttons on alerts: the blocks an alert is laid out in, the press or
the modal sent read back from Slack's form, who did it by AGENT_CHANNELS, and what an alert
says of where its case stands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.errors import MalformedRequest, PoisonRecord, RetryLater
from chalicelib.models import (
    Author,
    Mention,
    MentionRecord,
    ReplyPointer,
    RoutedMention,
    Routing,
    Transfer,
)
from chalicelib.platforms.slack import (
    Button,
    ButtonPress,
    Menu,
    ModalSubmission,
    SlashCommand,
    TextInput,
    alert_blocks,
    fields_modal,
    interaction,
    slash_command,
    text_modal,
)
from chalicelib.services.alert_buttons import agent_named
from chalicelib.services.alert_desk import AlertDesk
from chalicelib.services.alerts import case_status, refresh_alerts, refresh_job, settled
from chalicelib.settings import Settings
from chalicelib.stores.mentions import PostedAlert
from chalicelib.stores.mentions_memory import MemoryMentionStore
from chalicelib.stores.queues import MemoryQueues
from chalicelib.stores.replies import MemoryReplyStore


def test_an_alert_longer_than_a_section_holds_is_cut_to_fit_with_its_button_after() -> None:
    section, actions = alert_blocks("x" * 3500, (Button("take", "Take it", "x:1"),))
    assert len(section["text"]["text"]) == 3000
    assert actions["elements"] == [
        {
            "type": "button",
            "action_id": "take",
            "text": {"type": "plain_text", "text": "Take it"},
            "value": "x:1",
        }
    ]
    assert [b["type"] for b in alert_blocks("said", footnote="taken")] == ["section", "context"]


def test_a_press_is_read_from_the_forms_payload_and_one_without_its_message_refused() -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0MAYA"},
        "container": {"type": "message", "channel_id": "C0PR", "message_ts": "1.2"},
        "message": {"text": "*[URGENT] new case*"},
        "actions": [{"action_id": "take", "value": "slack:C0/1.5"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert interaction(body) == ButtonPress(
        "take", "slack:C0/1.5", "U0MAYA", "C0PR", "1.2", "*[URGENT] new case*"
    )
    menu = Menu((Button("transfer", "Hand over…", "x:1"), Button("close", "Close…", "x:1")))
    [hand_over, _] = menu.block()["options"]
    payload["actions"] = [{"action_id": "more", "type": "overflow", "selected_option": hand_over}]
    chosen = interaction(urlencode({"payload": json.dumps(payload)}).encode())
    assert isinstance(chosen, ButtonPress) and (chosen.action, chosen.value) == ("transfer", "x:1")
    payload["actions"] = [{"action_id": "more", "type": "overflow"}]
    with pytest.raises(MalformedRequest, match="without 'selected_option'"):
        interaction(urlencode({"payload": json.dumps(payload)}).encode())
    del payload["container"]
    with pytest.raises(MalformedRequest, match="without 'container'"):
        interaction(urlencode({"payload": json.dumps(payload)}).encode())


def test_a_form_slack_would_not_send_is_refused_saying_what_a_form_is() -> None:
    with pytest.raises(MalformedRequest, match="is a URL-encoded form of UTF-8 text"):
        interaction(b"payload=\xff")
    crowded = urlencode({f"field{n}": "x" for n in range(11)}).encode()
    with pytest.raises(MalformedRequest, match="has more than 10 fields"):
        interaction(crowded)
    typed = {"command": "/switchboard", "text": "next pr", "user_id": "U0MAYA"}
    with pytest.raises(MalformedRequest, match="needs its 'channel_id' field"):
        slash_command(urlencode(typed).encode())
    command = slash_command(urlencode({**typed, "channel_id": "C0PR"}).encode())
    assert command == SlashCommand("/switchboard", "U0MAYA", "C0PR", "next pr")


def sent(values: dict[str, Any]) -> bytes:
    """The form Slack posts when U0SAM sends the reject modal V0MODAL, its inputs as `values`."""
    view = {
        "id": "V0MODAL",
        "callback_id": "reject",
        "private_metadata": "{}",
        "state": {"values": values},
    }
    payload = {"type": "view_submission", "user": {"id": "U0SAM"}, "view": view}
    return urlencode({"payload": json.dumps(payload)}).encode()


EMPTY = {"text": ""}


def test_a_modal_sent_is_read_with_what_was_written_or_chosen_in_it() -> None:
    def typed(value: str | None) -> dict[str, Any]:
        return {"text": {"type": "plain_text_input", "value": value}}

    def chosen(value: str | None) -> dict[str, Any]:
        option = {"value": value} if value else None
        return {"choice": {"type": "static_select", "selected_option": option}}

    read = interaction(sent({"text": typed("off tone")}))
    assert read == ModalSubmission(
        "reject", "U0SAM", "{}", "off tone", "V0MODAL", written={"text": "off tone"}
    )
    left_empty = interaction(sent({"text": typed(None)}))
    assert left_empty == ModalSubmission("reject", "U0SAM", "{}", "", "V0MODAL", written=EMPTY)
    offered = interaction(sent({"choice": chosen(None), "text": typed(None)}))
    assert offered == ModalSubmission(
        "reject", "U0SAM", "{}", "", "V0MODAL", offered=True, written=EMPTY
    )
    several = {"name": {"name": {"type": "plain_text_input", "value": "order_update"}}}
    named = interaction(sent({**several, "text": typed("Priya")}))
    assert isinstance(named, ModalSubmission)
    assert named.written == {"name": "order_update", "text": "Priya"}
    picked = interaction(sent({"choice": chosen("sorry"), "text": typed(None)}))
    assert isinstance(picked, ModalSubmission) and picked.choice == "sorry"
    ticked = [{"text": {"type": "plain_text", "text": "Privately"}, "value": "private"}]
    boxes = {"flags": {"type": "checkboxes", "selected_options": ticked}}
    flagged = interaction(sent({"text": typed("DM sent"), "flags": boxes}))
    assert isinstance(flagged, ModalSubmission) and flagged.flags == {"private"}
    none_ticked = {"flags": {"type": "checkboxes", "selected_options": []}}
    unflagged = interaction(sent({"text": typed("ok"), "flags": none_ticked}))
    assert isinstance(unflagged, ModalSubmission) and unflagged.flags == frozenset()


def test_a_modal_shows_what_it_is_about_above_its_field_within_slacks_limits() -> None:
    modal = text_modal("reply", "Reply to a customer's post", "Your reply", "{}", 5000, "*said*")
    about, field = modal["blocks"]
    assert about == {"type": "section", "text": {"type": "mrkdwn", "text": "*said*"}}
    assert (modal["title"]["text"], field["element"]["max_length"]) == (
        "Reply to a customer's po",
        3000,
    )
    assert [b["type"] for b in text_modal("reject", "Reject", "Why?", "{}")["blocks"]] == ["input"]
    many = [(f"t{n}", f"t{n}: " + "x" * 100) for n in range(120)]
    offered = text_modal("reply", "Reply", "Yours", "{}", options=many, options_label="Saved")
    select = offered["blocks"][0]["element"]
    assert (select["type"], len(select["options"])) == ("static_select", 100)  # Slack's most
    assert len(select["options"][0]["text"]["text"]) == 75
    flags = [(f"f{n}", "x" * 100) for n in range(12)]
    boxes = text_modal("reply", "Reply", "Yours", "{}", flags=flags)["blocks"][-1]
    assert (boxes["block_id"], boxes["optional"], boxes["element"]["type"]) == (
        "flags",
        True,
        "checkboxes",
    )
    assert len(boxes["element"]["options"]) == 10  # Slack's most
    assert len(boxes["element"]["options"][0]["text"]["text"]) == 75


def test_a_form_of_several_fields_shows_each_with_its_hint_and_what_it_starts_with() -> None:
    fields = (
        TextInput("name", "Template", "as approved", max_length=512),
        TextInput("language", "Language", initial="en", max_length=6),
        TextInput("text", "Values", multiline=True, optional=True, max_length=9000),
    )
    modal = fields_modal("whatsapp-template", "WhatsApp template", "{}", "*Priya* wrote", fields)
    assert (modal["callback_id"], modal["submit"]["text"]) == ("whatsapp-template", "Send")
    about, name, language, values = modal["blocks"]
    assert about["text"]["text"] == "*Priya* wrote"
    assert name["hint"] == {"type": "plain_text", "text": "as approved"}
    assert "initial_value" not in name["element"] and not name["optional"]
    assert (language["element"]["initial_value"], language["element"]["max_length"]) == ("en", 6)
    assert "hint" not in language
    assert (values["optional"], values["element"]["multiline"]) == (True, True)
    assert values["element"]["max_length"] == 3000  # Slack's most
    assert [b["block_id"] for b in (name, language, values)] == ["name", "language", "text"]
    anyway = [("anyway", "Answer anyway (force): sam has it")]
    *_, boxes = fields_modal("t", "T", "{}", "shown", fields, flags=anyway)["blocks"]
    assert (boxes["block_id"], boxes["element"]["type"]) == ("flags", "checkboxes")
    assert [o["value"] for o in boxes["element"]["options"]] == ["anyway"]


def test_the_presser_is_named_by_their_slack_member_id_never_by_a_teams_webhook() -> None:
    settings = Settings(agent_channels={"maya": "U0MAYA", "lee": "teams:lee"})
    assert agent_named("U0MAYA", settings) == "maya"
    assert agent_named("teams:lee", settings) is None
    assert agent_named("U0SAM", settings) is None


NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SETTINGS = Settings(agent_channels={"maya": "U0MAYA"}, alert_buttons=True)


def case(**changes: object) -> MentionRecord:
    """A support case from NOW, as `changes` leave it."""
    mention = Mention(id="x:1", platform="x", text="where is my order", author=Author(id="9"))
    message = RoutedMention(
        mention=mention, routing=Routing(department="support"), reply=ReplyPointer(mention_id="x:1")
    )
    record = MentionRecord(id="x:1", status="routed", routed_at=NOW, message=message)
    return record.model_copy(update=changes)


def test_an_alert_says_where_its_case_stands_offering_take_it_while_free_reply_while_waiting() -> (
    None
):
    later = NOW + timedelta(minutes=30)
    free = case()
    reply = Button("reply", "Reply…", "x:1")
    items = [("transfer", "Hand over…"), ("give", "Give to…"), ("priority", "Priority…")]
    items.append(("close", "Close…"))
    more = Menu(tuple(Button(action, label, "x:1") for action, label in items))
    assert case_status(free, SETTINGS, NOW) == (
        None,
        (Button("take", "Take it", "x:1", "primary"), reply, more),
    )
    off = SETTINGS.model_copy(update={"alert_buttons": False})
    assert case_status(free, off, NOW) == (None, ())
    taken = case(taken_by="maya", taken_until=later)
    assert case_status(taken, SETTINGS, NOW) == (
        "taken by maya (<@U0MAYA>) until 2026-11-24T09:30:00+00:00",
        (reply, Button("leave", "Give back", "x:1"), more),  # for whoever has it
    )
    assert case_status(taken, SETTINGS, later + timedelta(seconds=1))[0] is None  # ran out
    closed = case(closed_at=NOW, closed_by="lee<>", closed_reason="a <dupe>", taken_by="maya")
    assert case_status(closed, SETTINGS, NOW) == ("closed by lee&lt;&gt;: a &lt;dupe&gt;", ())
    assert settled(closed) == "closed by lee<>: a <dupe>"  # as a person is told it, plainly
    answered = case(first_response_at=later)
    assert settled(answered) == "answered on the platform at 2026-11-24T09:30:00+00:00"
    assert settled(case(hidden_at=NOW, hidden_by="rule:spam")) == (
        "hidden on its platform by rule:spam"
    )
    assert settled(case(deleted_at=NOW)) == "deleted by its author"


def test_a_case_handed_over_says_so_before_where_it_stands() -> None:
    handover = Transfer(
        from_department="pr", to_department="support", by="lee", at=NOW, reason="a refund"
    )
    moved = case()
    moved.message.routing.transfers.append(handover)
    status, buttons = case_status(moved, SETTINGS, NOW)
    assert status == "handed over to support by lee: a refund"
    assert [b.action for b in buttons if isinstance(b, Button)] == ["take", "reply"]
    taken = moved.model_copy(update={"taken_by": "sam", "taken_until": NOW + timedelta(hours=1)})
    assert case_status(taken, SETTINGS, NOW)[0] == (
        "handed over to support by lee: a refund · taken by sam until 2026-11-24T10:00:00+00:00"
    )


def test_a_case_is_refreshed_only_where_its_alerts_go_to_slack() -> None:
    mentions, queues = MemoryMentionStore(), MemoryQueues(["outbox"])
    mentions.add_alert("x:1", PostedAlert("C0SUP", "1795.000100", "*alert*"), NOW)
    teams_only = Settings(alert_channels={"support": "teams:leads"}, teams_webhooks={})
    refresh_alerts(mentions, queues, teams_only, "x:1")
    assert queues.messages["outbox"] == []
    slack = Settings(alert_channels={"support": "C0SUP"})
    refresh_alerts(mentions, queues, slack, "x:1")
    [job] = queues.messages["outbox"]
    assert json.loads(job.body)["alert"] == {
        "refresh": "x:1",
        "of": "case",
        "channel": "C0SUP",
        "heading": "how x:1 stands",
    }


def refresh_due(at: str) -> str:
    """The outbox job a kept alert showing a take leaves for when it runs out."""
    job = {
        "refresh": "x:1",
        "of": "case",
        "channel": "C0SUP",
        "heading": "how x:1 stands",
        "at": at,
    }
    return json.dumps({"alert": job})


def test_a_refresh_left_for_when_a_take_runs_out_waits_out_of_sight_until_then() -> None:
    mentions, queues = MemoryMentionStore(), MemoryQueues(["outbox"])
    desk = AlertDesk(SETTINGS, mentions, MemoryReplyStore(), queues)
    soon = datetime.now(UTC) + timedelta(minutes=30)
    left = refresh_job("x:1", "case", ["C0SUP"], soon)
    assert json.loads(left.body)["alert"]["at"] == soon.isoformat()
    assert 1790 <= left.delay <= 1800  # SQS keeps it out of sight 900 s of those
    with pytest.raises(RetryLater, match=r"the alerts of x:1 change when its take runs out at 20"):
        desk.send(left.body)  # received 15 minutes early: hidden until SQS can delay it
    with pytest.raises(RetryLater) as waiting:
        desk.send(left.body)
    assert 890 <= waiting.value.delay <= 900
    assert queues.messages["outbox"] == []

    within = refresh_due((datetime.now(UTC) + timedelta(minutes=10)).isoformat())
    desk.send(within)  # sent again, delayed to its time: a new message, its tries all left
    [again] = queues.messages["outbox"]
    assert (again.body, 590 <= again.delay <= 600) == (within, True)
    with pytest.raises(RetryLater) as waiting:  # past what SQS hides a message for: put off again
        desk.send(refresh_due((soon + timedelta(hours=20)).isoformat()))
    assert waiting.value.delay == 12 * 3600
    desk.send(refresh_due(NOW.isoformat()))  # due: a case long gone changes nothing
    assert queues.messages["outbox"] == [again]
    assert refresh_job("x:1", "case", ["C0SUP"], NOW).delay == 0
    with pytest.raises(PoisonRecord, match="due at 'soon', not a time"):
        desk.send(refresh_due("soon"))
