"""The `switchboard` command, offline parts."""

from __future__ import annotations

import io
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.cli import build_parser, commands_in_groups, main
from chalicelib.cli_text import format_routed, gist
from chalicelib.commands.api import answers_as_json
from chalicelib.models import (
    ANSWERED,
    AWAITING_APPROVAL,
    CLOSED,
    HANDED_OVER,
    HIDDEN,
    TRANSFERRED,
    UNDELIVERED,
    UNHIDDEN,
    Attachment,
    Author,
    CaseState,
    Conversation,
    EarlierCase,
    History,
    Mention,
    Quoted,
    ReplyPointer,
    RoutedMention,
    Routing,
    Transfer,
)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_help_lists_every_command_once_under_what_it_is_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    shown = capsys.readouterr().out
    assert exited.value.code == 0
    with pytest.raises(SystemExit):
        build_parser().parse_args(["no-such-command"])
    refused = capsys.readouterr().err
    commands = re.findall(r"'([a-z-]+)'", refused.split("choose from", 1)[1])
    grouped = commands_in_groups()
    assert sorted(grouped) == sorted(commands)  # none left out, none listed twice
    assert re.findall(r"^    ([a-z-]+) ", shown, re.MULTILINE) == grouped
    work = shown.index("work a department's cases:")
    rules = shown.index("write and measure the rules:")
    assert work < shown.index("    take            take a case to answer it") < rules
    assert rules < shown.index("    eval            score routing on a labeled") < len(shown)
    assert "{route,eval" not in shown  # the usage line no longer spells out 37 commands


def test_a_misspelt_command_is_told_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["waitng", "support"]) == 2
    assert capsys.readouterr().err == (
        "error: no command waitng; did you mean waiting? `switchboard --help` lists them\n"
    )
    assert main(["frobnicate"]) == 2
    assert (
        capsys.readouterr().err == "error: no command frobnicate; `switchboard --help` lists them\n"
    )


def test_json_prints_a_status_read_while_waiting_as_it_last_stood() -> None:
    answers = [
        ("POST", "/replies", {"reply_id": "r_1", "status": "queued"}),
        ("GET", "/replies/r_1", {"status": "queued"}),
        ("GET", "/replies/r_1", {"status": "sent"}),
        ("POST", "/mentions/hide", {"hidden": 1}),
        ("POST", "/mentions/hide", {"hidden": 0}),  # a job done a batch a call: each call
    ]
    out = io.StringIO()
    answers_as_json(answers, out)
    assert out.getvalue().splitlines() == [
        '{"reply_id": "r_1", "status": "queued"}',
        '{"status": "sent"}',
        '{"hidden": 1}',
        '{"hidden": 0}',
    ]


def test_route_prints_one_decision_per_line(tmp_path: Path) -> None:
    mentions = tmp_path / "in.jsonl"
    mentions.write_text(
        json.dumps({"id": "x:1", "platform": "x", "text": "my parcel never arrived"})
        + "\n\n"
        + json.dumps({"id": "x:2", "platform": "x", "text": "a journalist asking for comment"})
        + "\n"
    )
    code, out = run("route", str(mentions))
    first, second = (json.loads(line) for line in out.splitlines())
    assert code == 0
    assert (first["id"], first["department"], first["priority"]) == ("x:1", "support", "normal")
    assert first["matched_rules"][0]["id"] == "service-problem"
    assert set(first) >= {
        "id",
        "department",
        "also",
        "priority",
        "tags",
        "matched_rules",
        "signals",
    }
    assert second["department"] == "pr"


def test_route_reports_bad_lines_and_keeps_going(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mentions = tmp_path / "in.jsonl"
    mentions.write_text(
        '\ufeff{"id": "x:1", "platform": "x"}\n{"id": "x:2", "platform": "x", "text": "hi"}\n'
        '{"id": "x:3"}\nnot json\n'
    )
    code, out = run("route", str(mentions))
    assert code == 1
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["x:2"]
    said = capsys.readouterr().err.splitlines()
    assert said[0] == "line 1: text: Field required"
    assert said[1] == "line 3: platform: Field required; text: Field required"
    assert said[2].startswith("line 4: body is not valid JSON: ")


def test_route_with_a_custom_ruleset(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("- id: all-to-pr\n  when: {platform: {equals: x}}\n  then: {route_to: pr}\n")
    mentions = tmp_path / "in.jsonl"
    mentions.write_text('{"id": "x:1", "platform": "x", "text": "hello"}\n')
    code, out = run("route", str(mentions), "--rules", str(rules))
    assert code == 0 and json.loads(out)["department"] == "pr"


def test_rules_can_route_by_the_language_signal(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- id: spanish-desk\n  when: {signals.lang: {in: [es]}}\n  then: {route_to: support}\n"
    )
    mentions = tmp_path / "in.jsonl"
    spanish = "Mi pedido no ha llegado y nadie me responde desde hace una semana"
    mentions.write_text(
        json.dumps({"id": "x:1", "platform": "x", "text": spanish})  # detected: no platform field
        + "\n"
        + json.dumps({"id": "x:2", "platform": "x", "text": "hola", "lang": "es"})  # X's field
        + "\n"
        + json.dumps({"id": "x:3", "platform": "x", "text": "where is my order, nobody answers"})
        + "\n"
    )
    code, out = run("route", str(mentions), "--rules", str(rules))
    decisions = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [d["signals"]["lang"] for d in decisions] == ["es", "es", "en"]
    deciding = [d["matched_rules"][0]["id"] for d in decisions]
    assert deciding == ["spanish-desk", "spanish-desk", "classifier"]
    assert decisions[0]["matched_rules"][0]["why"] == "signals.lang is 'es'"


def test_invalid_ruleset_exits_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("- id: r\n  when: {text: {matches: '(a'}}\n  then: {route_to: pr}\n")
    mentions = tmp_path / "in.jsonl"
    mentions.write_text("")
    code, _ = run("route", str(mentions), "--rules", str(rules))
    assert code == 2
    assert "rule 'r' (#1): when.text.matches: invalid RE2 pattern" in capsys.readouterr().err


def labeled(tmp_path: Path, rows: str) -> str:
    """A labeled departments CSV holding `rows` (its header first); its path."""
    data = tmp_path / "dev.csv"
    data.write_text(rows)
    return str(data)


def test_eval_reports_scores(tmp_path: Path) -> None:
    data = labeled(
        tmp_path,
        "id,source,text,label,ambiguous,note\n"
        "1,t,my order never arrived,support,0,\n"
        "2,t,I love you guys,marketing,0,\n"
        "3,t,I am calling my lawyer,pr,0,\n",
    )
    code, out = run("eval", data)
    assert code == 0
    assert "3 mentions" in out
    assert "macro F1                             1.000" in out
    assert "clear-cut" not in out  # no row is marked ambiguous

    with open(data, "a") as handle:  # a defensible second reading the router does not share
        handle.write("4,t,I love you guys but my order never arrived,marketing,1,\n")
    code, out = run("eval", data)
    assert out.splitlines()[-1] == "macro F1 on rows clear-cut (3) 1.000, ambiguous (1) 0.000"


def test_eval_fails_under_a_macro_f1_for_a_ci_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = labeled(
        tmp_path,
        "id,text,label\n"
        "1,my order never arrived,support\n"
        "2,I love you guys but my order never arrived,marketing\n",
    )
    assert run("eval", data, "--fail-under", "0.3")[0] == 0
    code, out = run("eval", data, "--fail-under", "0.9")
    assert code == 1 and "macro F1" in out  # the report is printed all the same
    assert capsys.readouterr().err == "macro F1 0.333 is under 0.9\n"
    corpus = tmp_path / "train.csv"
    corpus.write_text("id,text,complaint,domain\n1,my order never arrived,1,retail\n")
    for option in (["--fail-under", "0.9"], ["--json"]):
        assert run("eval", str(corpus), *option) == (2, "")
        said = capsys.readouterr().err
        assert f"{option[0]} scores the departments of a departments file" in said


def test_eval_json_is_the_scores_as_one_document_for_a_ci(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = labeled(
        tmp_path,
        "id,source,text,label,ambiguous\n"
        "1,airline,my flight was cancelled and nobody helps,support,0\n"
        "2,brand,I love you guys but my order never arrived,marketing,1\n",
    )
    code, out = run("eval", data, "--json", "--fail-under", "0.9")
    scored = json.loads(out)
    assert code == 1 and "under 0.9" in capsys.readouterr().err  # the gate holds with --json
    assert (scored["mentions"], scored["macro_f1"], scored["accuracy"]) == (2, 0.3333, 0.5)
    assert scored["classes"]["support"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": 0.6667,
        "support": 1,
    }
    assert scored["confusion"] == {"marketing": {"support": 1}, "support": {"support": 1}}
    assert scored["clear_cut_apart"]["ambiguous"] == {"mentions": 1, "macro_f1": 0.0}
    assert scored["by_source"]["airline"] == {"mentions": 1, "macro_f1": 1.0}


@pytest.mark.parametrize(
    ("rows", "last_line"),
    [
        (  # the clear-cut rows named first, whichever the file starts with
            "id,text,label,ambiguous\n"
            "1,I love you guys but my order never arrived,marketing,1\n"
            "2,my order never arrived,support,0\n",
            "macro F1 on rows clear-cut (1) 1.000, ambiguous (1) 0.000",
        ),
        (  # each source apart, when rows come from several
            "id,source,text,label\n"
            "1,airline,my flight was cancelled and nobody helps,support\n"
            "2,airline,I am calling my lawyer,pr\n"
            "3,brand,I love you guys,marketing\n"
            "4,brand,I love you guys but my order never arrived,marketing\n",
            "macro F1 by source: airline (2) 1.000, brand (2) 0.667",
        ),
    ],
    ids=["clear-cut-first", "by-source"],
)
def test_eval_scores_parts_of_a_file_apart(tmp_path: Path, rows: str, last_line: str) -> None:
    code, out = run("eval", labeled(tmp_path, rows))
    assert code == 0
    assert out.splitlines()[-1] == last_line


def test_eval_reads_labels_and_flags_however_a_spreadsheet_wrote_them(tmp_path: Path) -> None:
    data = labeled(
        tmp_path,
        "\ufeffid,text,label,ambiguous\n"  # Excel's "CSV UTF-8" opens with a byte order mark
        "1,my order never arrived, Support ,FALSE\n"
        "2,I love you guys,Marketing,0\n"
        "3,I love you guys but my order never arrived,MARKETING,True\n",
    )
    code, out = run("eval", data)
    assert code == 0
    assert out.splitlines()[1].split() == ["class", "precision", "recall", "f1", "support"]
    assert [line.split()[0] for line in out.splitlines()[2:4]] == ["marketing", "support"]
    assert out.splitlines()[-1] == "macro F1 on rows clear-cut (2) 1.000, ambiguous (1) 0.000"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("id,text\n1,hello\n", "a labeled CSV needs the columns id,text,label (departments) or"),
        ("", "its header has nothing"),
        ("id,text,label\n1,my order never arrived,support\n2\n", "line 3: too few fields"),
        (b"\xff\xfe\x00binary", "not a UTF-8 CSV file"),
    ],
)
def test_eval_refuses_a_file_that_is_no_labeled_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, error: str
) -> None:
    data = tmp_path / "labels.csv"
    data.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, out = run("eval", str(data))
    assert code == 1 and out == ""
    assert error in capsys.readouterr().err


@pytest.mark.parametrize("command", [["route"], ["rules", "validate"]])
def test_a_file_that_is_not_text_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    data = tmp_path / "mentions.jsonl"
    data.write_bytes(b"\xff\xfe\x00binary")
    code, _ = run(*command, str(data))
    assert code == 1
    assert capsys.readouterr().err.startswith("error: the file is not UTF-8 text")


def test_a_ruleset_file_may_be_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules.json"
    rule = {"id": "r", "when": {"text": {"contains_any": ["lawyer"]}}, "then": {"route_to": "pr"}}
    rules.write_text(json.dumps([rule]))
    assert run("rules", "validate", str(rules))[0] == 0
    mentions = tmp_path / "in.jsonl"
    mentions.write_text(json.dumps({"id": "x:1", "platform": "x", "text": "my lawyer"}) + "\n")
    code, out = run("route", str(mentions), "--rules", str(rules))
    assert code == 0 and json.loads(out)["matched_rules"][0]["id"] == "r"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("- id: r\n  when: {text: {contains_any: [a]}\n", "while parsing a flow mapping"),
        ('[{"id": "r", "when": }]', "Expecting value: line 1 column 22"),
    ],
    ids=["yaml", "json"],
)
def test_a_ruleset_file_that_does_not_parse_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, said: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    assert run("rules", "validate", str(rules))[0] == 2
    refused = capsys.readouterr().err
    assert refused.startswith("invalid ruleset:\n  cannot parse rules: ") and said in refused


FOUR_LABELED = (
    "id,source,text,label,ambiguous,note\n"
    "1,t,my order never arrived,support,0,\n"
    "2,t,@acme my order never arrived and nobody answers,marketing,0,\n"
    "3,t,@acme what time do you open?,marketing,0,\n"
    "4,t,@acme I am calling my lawyer,pr,0,\n"
)
"""Four labeled mentions: two routed where they belong, two sent astray by different rules."""


def test_eval_lists_the_misrouted_mentions_by_the_rule_that_decided_them(tmp_path: Path) -> None:
    data = labeled(tmp_path, FOUR_LABELED)
    code, out = run("eval", data, "--misses")
    misses = out.split("\n\n")[-1].splitlines()
    assert code == 0
    assert misses[0] == "service-problem: 1 misrouted"
    assert misses[1].split()[:4] == ["x:2", "marketing", "→", "support:"]
    assert misses[2].strip().startswith("because signals.complaint")
    assert misses[3] == "question: 1 misrouted"
    assert misses[4].split()[:4] == ["x:3", "marketing", "→", "support:"]
    assert len(misses) == 6  # x:1 and x:4 went where they belong
    assert "x:1" not in out.split("\n\n")[-1]


def test_eval_by_rule_counts_what_each_rule_decided_and_sent_astray(tmp_path: Path) -> None:
    data = labeled(tmp_path, FOUR_LABELED)
    code, out = run("eval", data, "--by-rule")
    table = [line.split() for line in out.split("\n\n")[-1].splitlines()]
    assert code == 0
    assert table[0] == ["rule", "decided", "astray", "marketing", "pr", "support"]
    assert table[1] == ["service-problem", "2", "1", "1", "0", "1"]  # the busiest first
    assert sorted(table[2:]) == [
        ["legal-and-regulators", "1", "0", "0", "1", "0"],
        ["question", "1", "1", "1", "0", "0"],
    ]


def test_eval_on_the_complaints_corpus_shows_where_each_group_went(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text(
        "id,text,complaint,domain,sentiment,emotion,severity\n"
        "1,@acme my order never arrived and nobody answers,1,retail,Negative,anger,2\n"
        "2,@acme I love you guys,0,retail,Positive,joy,0\n"
        "3,watching the game tonight,0,random_tweet,Neutral,none,0\n"
    )
    code, out = run("eval", str(data))
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"3 mentions from {data}"
    assert lines[1].split() == ["group", "n", "ignore", "marketing", "support"]
    assert lines[2].split() == ["complaint", "1", "0.0%", "0.0%", "100.0%"]
    assert lines[3].split()[-4:] == ["1", "0.0%", "100.0%", "0.0%"]  # to a company: praise
    assert lines[4].split()[-4:] == ["1", "100.0%", "0.0%", "0.0%"]  # not to a company
    assert "complaints routed to support or pr: 100.0%" in out
    # scored against the departments its labels imply: support, marketing, ignore
    implied = out.split("the department model learned these labels):\n")[1].splitlines()
    assert implied[0].split() == ["class", "precision", "recall", "f1", "support"]
    assert implied[4].split() == ["macro", "F1", "1.000"]
    assert "confusion (rows: label, columns: routed)" in implied
    code, out = run("eval", str(data), "--misses")
    assert out.endswith("no misrouted mentions\n")  # only a complaint can be misrouted here
    code, out = run("eval", str(data), "--by-rule")
    by_rule = out.split("\n\n")[-1].splitlines()
    assert by_rule[0].split()[:3] == ["rule", "decided", "astray"]
    # each row ends with its astray count, then one count per group (3 here)
    assert all(row.split()[-4] == "0" for row in by_rule[1:])  # nothing went astray


def test_eval_on_a_held_out_complaints_file_scores_the_complaint_and_severity_signals(
    tmp_path: Path,
) -> None:
    data = tmp_path / "held-out.csv"
    data.write_text(
        "id,text,complaint,domain,sentiment,emotion,severity\n"
        "1,@acme my order never arrived and nobody answers your emails. worst service ever,"
        "1,retail,Negative,anger,4\n"
        "2,@acme I love you guys. best coffee in town,0,food,Positive,joy,0\n"
        "3,@acme you lied to me and stole my money and I blame you,1,retail,Negative,anger,4\n"
    )
    code, out = run("eval", str(data))
    assert code == 0
    signals = out.split("none of these tweets is in the shipped models' training data")[1]
    complaint, severity = signals.split("\n\nseverity as the worker computes it")
    # the third complaint scores 0.474, under 0.5: missed, and so given severity 0
    rows = [line.split() for line in complaint.splitlines()]
    assert ["1", "1.000", "0.500", "0.667", "2"] in rows
    assert ["macro", "F1", "0.667"] in rows
    assert rows[-2:] == [["0", "1", "0"], ["1", "1", "1"]]  # rows: label, columns: signalled
    rows = [line.split() for line in severity.splitlines()]
    assert ["4", "1.000", "0.500", "0.667", "2"] in rows
    assert rows[-2:] == [["0", "1", "0"], ["4", "1", "1"]]


def test_eval_on_the_training_data_says_its_scores_are_not_held_out(tmp_path: Path) -> None:
    from tests.conftest import SHARED

    corpus = (SHARED / "data" / "complaints" / "train.csv").read_text().splitlines()
    data = tmp_path / "some-training-rows.csv"
    data.write_text("\n".join(corpus[:3]) + "\n")  # the header and two rows
    code, out = run("eval", str(data))
    assert code == 0
    assert "2 of these 2 tweets are in the shipped models' training data" in out
    assert "these are training scores, not held-out ones" in out


def test_eval_without_the_training_data_beside_it_does_not_claim_held_out_scores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.classify import training

    def not_beside_it() -> list[dict[str, str]]:
        raise FileNotFoundError(tmp_path / "shared" / "data" / "complaints" / "train.csv")

    monkeypatch.setattr(training, "load_complaints", not_beside_it)
    data = tmp_path / "held-out.csv"
    data.write_text("id,text,complaint,domain\n1,@acme my order never arrived,1,retail\n")
    code, out = run("eval", str(data))
    assert code == 0
    assert "whether these tweets are in the shipped models' training data is unknown" in out
    assert "held-out scores" not in out


def test_eval_on_a_corpus_without_sentiment_only_shows_where_each_group_went(
    tmp_path: Path,
) -> None:
    data = tmp_path / "train.csv"
    data.write_text("id,text,complaint,domain\n1,@acme my order never arrived,1,retail\n")
    code, out = run("eval", str(data))
    assert code == 0 and "complaints routed to support or pr: 100.0%" in out
    assert "imply" not in out  # no sentiment: no department is implied for praise


def test_fresh_demo_samples_get_new_ids_that_still_parse() -> None:
    from chalicelib.demo import freshen, load_samples
    from chalicelib.models import RawDelivery
    from chalicelib.platforms import get_platform
    from tests.helpers import RECEIVED

    for sample in load_samples():
        fresh = freshen(sample, "77")
        raw = RawDelivery(platform=sample.platform, body=fresh.body.decode(), received_at=RECEIVED)
        parsed = get_platform(sample.platform).parse(raw, frozenset({"2244994945"}))
        assert {m.id for m in parsed} == set(fresh.expect)
        assert all(mention_id.endswith("77") for mention_id in fresh.expect)


def test_the_demo_says_where_samples_land_with_the_departments_configured(
    server: tuple[str, list[dict[str, str]]],
) -> None:
    from chalicelib.demo import load_samples, run_demo
    from chalicelib.settings import Settings

    url, seen = server
    out = io.StringIO()
    without = Settings.from_env({**os.environ, "DEPARTMENTS": "support,pr,triage"})
    assert run_demo(url.removesuffix("/api"), without, out) == 0
    assert len(seen) == len(load_samples())
    said = out.getvalue()
    assert "x:1992000000000000004 → triage (meant for marketing, not a department here)" in said
    assert "x:1992000000000000001 → support" in said
    assert said.endswith("switchboard inbox support|pr|triage\n")


def test_inbox_without_the_local_aws_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.exceptions import EndpointConnectionError

    class Unreachable:
        def get_queue_url(self, **_: object) -> None:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:4566/")

    monkeypatch.setattr("chalicelib.aws.sqs", Unreachable)
    code, _ = run("inbox", "support")
    assert code == 1
    assert capsys.readouterr().err == (
        "error: cannot read switchboard-support: Could not connect to the endpoint URL:"
        ' "http://127.0.0.1:4566/". Is `make run` running?\n'
    )


def test_a_deployed_stack_is_reached_with_the_callers_own_aws_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--iam and --stage never get the local emulator's endpoint or its fake keys, which would
    override the admin's profile; SigV4 signs for the region in the API's URL."""
    from chalicelib.api_client import ApiClient, ApiError

    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    used: list[ApiClient] = []

    def refuse(client: ApiClient, method: str, path: str, body: object = None) -> None:
        used.append(client)
        raise ApiError(403, {"message": "stop here"})

    monkeypatch.setattr(ApiClient, "call", refuse)
    url = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod/"
    assert run("rules", "pull", "--url", url, "--iam")[0] == 1
    assert used[0].iam and used[0].region == "eu-west-1"

    class Unreachable:
        def get_queue_url(self, **_: object) -> None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()

    monkeypatch.setattr("chalicelib.aws.sqs", Unreachable)
    assert run("dlq", "intake", "--stage", "prod")[0] == 1
    error = capsys.readouterr().err
    assert "cannot read switchboard-prod-intake-dlq" in error and "AWS credentials" in error
    assert not {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"} & set(os.environ)


def test_an_inbox_entry_shows_the_case_a_follow_up_continues() -> None:
    message = RoutedMention(
        mention=Mention(id="x:2", platform="x", kind="reply", text="@AcmeHelp sent it by DM"),
        routing=Routing(
            department="pr",
            tags=["follow-up"],
            conversation=Conversation(mention_id="x:1", department="pr"),
        ),
        reply=ReplyPointer(mention_id="x:2"),
    )
    lines = format_routed(message).splitlines()
    assert lines[1:4] == [
        "  @AcmeHelp sent it by DM",
        "  continues x:1 (routed to pr)",
        "  department: pr  tags: follow-up  reply by: -",
    ]
    alone = message.model_copy(update={"routing": Routing(department="pr")})
    assert not any("continues" in line for line in format_routed(alone).splitlines())


def test_an_inbox_entry_shows_the_authors_earlier_cases() -> None:
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    states: list[CaseState] = ["waiting", "answered", "closed", "waiting", "deleted"]
    cases = [EarlierCase(id=f"x:{n}", department="support", routed_at=at, state=state)
             for n, state in enumerate(states, start=1)]  # fmt: skip
    message = RoutedMention(
        mention=Mention(id="x:9", platform="x", text="@Acme hello?? still nothing"),
        routing=Routing(department="support", history=History(days=30, cases=cases)),
        reply=ReplyPointer(mention_id="x:9"),
    )
    assert format_routed(message).splitlines()[2] == (
        "  wrote before: 5 case(s) in 30 days, 2 still waiting: x:1 (support, waiting),"
        " x:2 (support, answered), x:3 (support, closed) and 2 more"
    )
    many = History(days=30, cases=cases * 2)  # as many as a message lists: maybe more
    listed = message.model_copy(update={"routing": Routing(department="support", history=many)})
    assert format_routed(listed).splitlines()[2].startswith("  wrote before: 10+ case(s)")


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (25, "in 25 min"),
        (120, "in 2 h"),
        (-125, "overdue by 2 h 5 min"),
        (0.75, "in 45 s"),  # not "in 0 min"
        (-0.5, "overdue by 30 s"),
        (0, "in 0 s"),
    ],
)
def test_an_inbox_entry_says_how_long_is_left_to_reply(minutes: float, shown: str) -> None:
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    due = now + timedelta(minutes=minutes)
    message = RoutedMention(
        mention=Mention(id="x:5", platform="x", text="hello?"),
        routing=Routing(department="support", sla_due_at=due),
        reply=ReplyPointer(mention_id="x:5"),
    )
    assert f"reply by: {due.isoformat()} ({shown})" in format_routed(message, now)


def test_lists_show_a_message_with_only_a_file_by_what_it_carries() -> None:
    """The waiting list, the approvals, the ignored and handed-over lists show one line a case:
    a WhatsApp voice note has no text to show, so the line says what came instead."""
    voice = Attachment(kind="voice", media_id="1037543291543636", mime_type="audio/ogg")
    note = Mention(id="whatsapp:w1", platform="whatsapp", text="", attachments=[voice])
    assert gist(note) == "(no text; attached: voice)"
    assert gist(Mention(id="x:1", platform="x", text=" \n")) == "(no text)"
    assert gist(Mention(id="x:2", platform="x", text="where is\n my order")) == "where is my order"


def test_deadlines_are_shown_to_the_second_even_from_a_slack_message_time() -> None:
    """A Slack message's time (its `ts`, 1795336000.000200) has microseconds: nobody reads them."""
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    message = RoutedMention(
        mention=Mention(id="slack:C1/1795336000.000200", platform="slack", text="help"),
        routing=Routing(department="support", sla_due_at=now + timedelta(microseconds=200)),
        reply=ReplyPointer(mention_id="slack:C1/1795336000.000200"),
    )
    assert "reply by: 2026-11-22T09:00:00+00:00 (in 0 s)" in format_routed(message, now)


def test_an_inbox_entry_names_the_language_when_known() -> None:
    mention = Mention(id="x:3", platform="x", text="Mi pedido no ha llegado", lang="es")
    message = RoutedMention(
        mention=mention, routing=Routing(department="support"), reply=ReplyPointer(mention_id="x:3")
    )
    assert format_routed(message).splitlines()[0] == (
        "[NORMAL] x:3  x/mention in es  by unknown (0 followers)"
    )
    unknown = message.model_copy(update={"mention": mention.model_copy(update={"lang": None})})
    assert (
        format_routed(unknown).splitlines()[0]
        == "[NORMAL] x:3  x/mention  by unknown (0 followers)"
    )


def test_an_inbox_entry_says_when_the_brand_was_only_tagged_along() -> None:
    text = "@jamie_r @AcmeHelp same here, my order never arrived"
    mention = Mention(id="x:4", platform="x", text=text, tagged_along=True)
    message = RoutedMention(
        mention=mention, routing=Routing(department="support"), reply=ReplyPointer(mention_id="x:4")
    )
    assert format_routed(message).splitlines()[1:3] == [
        f"  {text}",
        "  in someone else's thread: the brand was only tagged along",
    ]
    addressed = message.model_copy(
        update={"mention": mention.model_copy(update={"tagged_along": False})}
    )
    assert not any("tagged along" in line for line in format_routed(addressed).splitlines())


def test_an_inbox_entry_says_when_another_app_holds_the_conversation() -> None:
    mention = Mention(id="messenger:m_1", platform="messenger", kind="dm", text="hi", standby=True)
    message = RoutedMention(
        mention=mention,
        routing=Routing(department="support"),
        reply=ReplyPointer(mention_id="messenger:m_1"),
    )
    assert format_routed(message).splitlines()[2] == (
        "  another app holds this conversation: a reply takes it over"
    )
    owned = message.model_copy(update={"mention": mention.model_copy(update={"standby": False})})
    assert not any("another app" in line for line in format_routed(owned).splitlines())


def test_an_inbox_entry_says_who_on_shift_was_given_the_case() -> None:
    mention = Mention(id="x:7", platform="x", text="where is my order?")
    message = RoutedMention(
        mention=mention,
        routing=Routing(department="support", assigned_to="maya"),
        reply=ReplyPointer(mention_id=mention.id),
    )
    assert format_routed(message).splitlines()[2] == "  given to maya, on shift (theirs to answer)"


def test_an_inbox_entry_says_a_rule_hides_the_comment() -> None:
    mention = Mention(id="instagram:1", platform="instagram", kind="comment", text="free $$$")
    message = RoutedMention(
        mention=mention,
        routing=Routing(department="support", hide="giveaway-scam"),
        reply=ReplyPointer(mention_id=mention.id),
    )
    assert format_routed(message).splitlines()[2] == "  hidden on instagram by rule giveaway-scam"
    kept = message.model_copy(update={"routing": Routing(department="support")})
    assert not any("hidden" in line for line in format_routed(kept).splitlines())


def test_an_inbox_entry_shows_what_a_quote_quotes() -> None:
    quoted = Quoted(id="x:9", text="Our winter menu\nis here!", author="AcmeHelp")
    mention = Mention(id="x:4", platform="x", kind="quote", text="lol no", quoted=quoted)
    message = RoutedMention(
        mention=mention, routing=Routing(department="pr"), reply=ReplyPointer(mention_id="x:4")
    )
    assert format_routed(message).splitlines()[1:3] == [
        "  lol no",
        "  quoting @AcmeHelp: Our winter menu is here!",
    ]
    unread = mention.model_copy(update={"quoted": Quoted(id="x:9", text="x" * 200)})
    line = format_routed(message.model_copy(update={"mention": unread})).splitlines()[2]
    assert line == "  quoting x:9: " + "x" * 139 + "…"


def test_an_inbox_entry_shows_the_brands_post_a_reply_answers() -> None:
    campaign = Quoted(id="x:9", text="Win a year of free wraps!", author="AcmeHelp")
    mention = Mention(id="x:4", platform="x", kind="reply", text="falafel", replied_post=campaign)
    message = RoutedMention(
        mention=mention,
        routing=Routing(department="marketing"),
        reply=ReplyPointer(mention_id="x:4"),
    )
    assert (
        format_routed(message).splitlines()[2] == "  answering @AcmeHelp: Win a year of free wraps!"
    )
    page_post = Quoted(id="facebook:1_2", text="Meet the Blend 3000", author="Acme Kitchen")
    comment = Mention(
        id="facebook:2_3",
        platform="facebook",
        kind="comment",
        text="mine broke",
        replied_post=page_post,
    )
    on_facebook = message.model_copy(update={"mention": comment})
    assert (
        format_routed(on_facebook).splitlines()[2]
        == "  answering Acme Kitchen: Meet the Blend 3000"
    )


def test_an_inbox_entry_of_a_handed_over_case_says_by_whom_and_why() -> None:
    mention = Mention(
        id="x:7", platform="x", text="my lawyer will call", author=Author(handle="jo")
    )
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    handover = Transfer(
        from_department="support", to_department="pr", by="maya", at=at, reason="legal threat"
    )
    routing = Routing(department="pr", tags=["order"], transfers=[handover])
    message = RoutedMention(mention=mention, routing=routing, reply=ReplyPointer(mention_id="x:7"))
    arrived = format_routed(message.tagged(TRANSFERRED)).splitlines()
    assert arrived[2] == "  handed over from support by maya: legal threat"
    assert arrived[3].startswith("  department: pr  tags: order, transferred")
    assert format_routed(message.tagged(HANDED_OVER)).splitlines() == [
        "[HANDED-OVER] x:7  x/mention  by jo",
        "  my lawyer will call",
        "  handed over to pr by maya: legal threat; no longer yours",
    ]


def test_an_inbox_entry_that_needs_no_reply_any_more_says_why() -> None:
    mention = Mention(id="x:6", platform="x", text="where is my order?", author=Author(handle="jo"))
    routing = Routing(department="support", sla_due_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    message = RoutedMention(mention=mention, routing=routing, reply=ReplyPointer(mention_id="x:6"))
    assert format_routed(message.tagged(ANSWERED)).splitlines() == [
        "[ANSWERED] x:6  x/mention  by jo",
        "  where is my order?",
        "  answered on the platform, not through Switchboard: no reply needed",
    ]
    assert format_routed(message.tagged(HIDDEN)).splitlines()[::2] == [
        "[HIDDEN] x:6  x/mention  by jo",
        "  hidden on the platform: off the SLA clock, no reply needed",
    ]
    assert format_routed(message.tagged(CLOSED)).splitlines()[::2] == [
        "[CLOSED] x:6  x/mention  by jo",
        "  closed by a department without a reply: off the SLA clock, no reply needed",
    ]
    assert format_routed(message.tagged(AWAITING_APPROVAL)).splitlines()[::2] == [
        "[AWAITING-APPROVAL] x:6  x/mention  by jo",
        "  a reply to it waits for your approval: switchboard approvals",
    ]
    assert format_routed(message.tagged(UNDELIVERED)).splitlines()[::2] == [
        "[REPLY-UNDELIVERED] x:6  x/mention  by jo",
        "  the reply never reached the customer (the platform could not deliver it)",
    ]
    shown = format_routed(message.tagged(UNHIDDEN), routing.sla_due_at)
    assert "tags: unhidden  reply by: 2026-11-22T09:00:00+00:00 (in 0 s)" in shown


def test_output_cut_short_by_its_reader_is_no_error(tmp_path: Path) -> None:
    """`switchboard route big.jsonl | head -1`: the reader stops, the command ends quietly."""
    import subprocess
    import sys

    mentions = tmp_path / "big.jsonl"
    line = {"platform": "x", "text": "@Acme where is my order? it never arrived"}
    mentions.write_text("".join(json.dumps({**line, "id": f"x:{i}"}) + "\n" for i in range(400)))
    command = [
        sys.executable,
        "-c",
        "import sys; from chalicelib.cli import main; sys.exit(main())",
    ]
    reader = subprocess.Popen(
        [*command, "route", str(mentions)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert reader.stdout is not None and reader.stderr is not None
    assert json.loads(reader.stdout.readline())["id"] == "x:0"
    reader.stdout.close()  # as `head -1` does
    assert reader.wait(timeout=60) == 0
    assert reader.stderr.read() == b""
