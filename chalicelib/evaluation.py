"""Measure routing against labeled data: per-class precision, recall, F1 and a confusion matrix
on the department set; on the complaints corpus, where its human-labeled groups were routed and
how the complaint and severity signals score against its labels."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.errors import MalformedRequest
from chalicelib.models import Mention

if TYPE_CHECKING:
    from chalicelib.rules.engine import Decision


@dataclass(frozen=True)
class LabeledMention:
    """A mention with the department a human chose (`ambiguous`: another was defensible too)."""

    mention: Mention
    label: str
    ambiguous: bool = False
    implied: str | None = None  # complaints corpus: the department its labels imply
    severity: int | None = None  # complaints corpus: its 2023 severity annotation (0 none)
    source: str = ""  # where the row comes from, when the file says (a departments CSV's `source`)


@dataclass(frozen=True)
class ClassScore:
    """Precision, recall and F1 of one class."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    """Scores of a labeled evaluation."""

    labels: list[str]
    scores: list[ClassScore]
    confusion: dict[tuple[str, str], int]
    accuracy: float

    @property
    def macro_f1(self) -> float:
        """Unweighted mean of the per-class F1 scores."""
        return sum(s.f1 for s in self.scores) / len(self.scores) if self.scores else 0.0

    def as_json(self) -> dict[str, Any]:
        """The scores as `switchboard eval --json` prints them."""
        return {
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "classes": {
                s.label: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                    "support": s.support,
                }
                for s in self.scores
            },
            "confusion": {
                truth: {p: n for (g, p), n in sorted(self.confusion.items()) if g == truth}
                for truth in self.labels
            },
        }

    def format(self, columns_are: str = "routed") -> str:
        """A readable table of the scores and the confusion matrix (rows = truth)."""
        predicted = sorted({p for _, p in self.confusion} - set(self.labels))
        columns = self.labels + predicted
        lines = [f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
        lines += [
            f"{s.label:<12}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>10.3f}{s.support:>10}"
            for s in self.scores
        ]
        lines.append(f"{'macro F1':<12}{self.macro_f1:>30.3f}")
        lines.append(f"{'accuracy':<12}{self.accuracy:>30.3f}")
        lines.append("")
        lines.append(f"confusion (rows: label, columns: {columns_are})")
        lines.append(" " * 12 + "".join(f"{c:>11}" for c in columns))
        for truth in self.labels:
            cells = "".join(f"{self.confusion.get((truth, c), 0):>11}" for c in columns)
            lines.append(f"{truth:<12}{cells}")
        return "\n".join(lines)


def score(gold: list[str], predicted: list[str], labels: list[str]) -> Report:
    """Compare predictions with gold labels over the given classes."""
    confusion = Counter(zip(gold, predicted, strict=True))
    scores = []
    for label in labels:
        tp = confusion[(label, label)]
        guessed = sum(n for (_, p), n in confusion.items() if p == label)
        actual = sum(n for (g, _), n in confusion.items() if g == label)
        precision = tp / guessed if guessed else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ClassScore(label, precision, recall, f1, actual))
    correct = sum(n for (g, p), n in confusion.items() if g == p)
    return Report(labels, scores, dict(confusion), correct / len(gold) if gold else 0.0)


COMPLAINT = "complaint"
NOT_A_COMPLAINT = "to a company, not a complaint"
NOT_TO_A_COMPANY = "not to a company"
ANSWERING = ("support", "pr")  # the teams that answer a complaint


def is_set(value: str | None) -> bool:
    """A labeled CSV's yes/no column as written: 1, 1.0, true or yes (any case) is yes."""
    return (value or "").strip().lower() in ("1", "1.0", "true", "yes")


def level(value: str) -> int | None:
    """A severity level as written (`3`, `3.0`), or None when the cell has none."""
    try:
        return int(float(value))
    except ValueError:
        return None


def complaint_group(row: dict[str, str]) -> str:
    """A complaints-corpus row's human-labeled group: a complaint, another tweet to a company, or
    a tweet not addressed to one (the corpus' random tweets and replies)."""
    if is_set(row["complaint"]):
        return COMPLAINT
    return NOT_TO_A_COMPANY if row["domain"].startswith("random") else NOT_A_COMPLAINT


def department_label(row: dict[str, str]) -> str:
    """The department a complaints-corpus row's own labels imply, as the department model learns
    it: complaint → support, not to a company → ignore, a positive non-complaint (the 2023
    `sentiment` annotation) → marketing, any other tweet to a company → support."""
    group = complaint_group(row)
    if group == NOT_TO_A_COMPANY:
        return "ignore"
    return "marketing" if group != COMPLAINT and row["sentiment"] == "Positive" else "support"


IMPLIED_SCORE = (
    "against the departments the corpus' labels imply (complaint → support, not to a company →\n"
    "ignore, positive → marketing, other → support; pr is none of them, so a complaint routed to\n"
    "pr counts against support; the department model learned these labels):"
)
DEPARTMENT_COLUMNS = {"id", "text", "label"}
CORPUS_COLUMNS = {"id", "text", "complaint", "domain"}


def load_labeled_csv(path: Path) -> list[LabeledMention]:
    """Rows as mentions from X with their labels: the department of a departments CSV
    (`id,source,text,label,...`), or the complaint group of the complaints corpus
    (`id,text,complaint,domain,...`, with the department its labels imply when it has the
    `sentiment` column). A file that is neither is refused, saying why."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            required = DEPARTMENT_COLUMNS if "label" in columns else CORPUS_COLUMNS
            if not columns >= required:
                raise MalformedRequest(
                    f"{path}: a labeled CSV needs the columns id,text,label (departments) or"
                    f" id,text,complaint,domain (the complaints corpus); its header has"
                    f" {','.join(reader.fieldnames or ()) or 'nothing'}"
                )
            implies = required == CORPUS_COLUMNS and "sentiment" in columns
            graded = required == CORPUS_COLUMNS and "severity" in columns
            rows = []
            for row in reader:
                if any(row[column] is None for column in required):
                    raise MalformedRequest(f"{path}, line {reader.line_num}: too few fields")
                rows.append(
                    LabeledMention(
                        Mention(id=f"x:{row['id']}", platform="x", text=row["text"]),
                        row["label"].strip().lower()
                        if "label" in columns
                        else complaint_group(row),
                        is_set(row.get("ambiguous")),
                        department_label(row) if implies and row["sentiment"] else None,
                        level(row["severity"]) if graded else None,
                        (row.get("source") or "").strip(),
                    )
                )
            return rows
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MalformedRequest(f"{path}: not a UTF-8 CSV file ({exc})") from None


def format_routes(gold: list[str], predicted: list[str]) -> str:
    """Where each labeled group was routed: a row per group, its share in each department, with
    the share of complaints that reached a team that answers them (support or pr)."""
    groups = [g for g in (COMPLAINT, NOT_A_COMPLAINT, NOT_TO_A_COMPANY) if g in gold]
    columns = sorted(set(predicted))
    counts = Counter(zip(gold, predicted, strict=True))
    sizes = Counter(gold)
    lines = [f"{'group':<31}{'n':>6}" + "".join(f"{c:>11}" for c in columns)]
    for group in groups:
        shares = "".join(f"{counts[(group, c)] / sizes[group]:>11.1%}" for c in columns)
        lines.append(f"{group:<31}{sizes[group]:>6}{shares}")
    if sizes[COMPLAINT]:
        answered = sum(counts[(COMPLAINT, department)] for department in ANSWERING)
        lines.append(f"complaints routed to support or pr: {answered / sizes[COMPLAINT]:.1%}")
    return "\n".join(lines)


def format_signals(rows: list[LabeledMention], signals: Sequence[Mapping[str, float]]) -> str:
    """How the shipped complaint signal (a complaint at COMPLAINT_THRESHOLD or more) scores
    against the complaints corpus' human labels, and severity, as the worker computes it,
    against the 2023 annotations where every row has one; with how many rows the models learned
    from (their scores are not held-out)."""
    from chalicelib.classify import COMPLAINT_THRESHOLD
    from chalicelib.classify.training import COMPLAINTS

    learned = learned_from(rows)
    if learned is None:
        heading = (
            "whether these tweets are in the shipped models' training data is unknown"
            f" ({COMPLAINTS} is not there)"
        )
    elif learned:
        heading = (
            f"{learned} of these {len(rows)} tweets are in the shipped models' training data"
            f" ({COMPLAINTS}):\nthese are training scores, not held-out ones; `make models`"
            " prints the cross-validated ones"
        )
    else:
        heading = "none of these tweets is in the shipped models' training data: held-out scores"
    lines = [heading, ""]
    gold = ["1" if row.label == COMPLAINT else "0" for row in rows]
    said = ["1" if each["complaint"] >= COMPLAINT_THRESHOLD else "0" for each in signals]
    lines += [
        f"the complaint signal (1 at {COMPLAINT_THRESHOLD} or more) against the human labels"
        " (1 complaint, 0 not):",
        score(gold, said, ["0", "1"]).format("signalled"),
    ]
    if all(row.severity is not None for row in rows):
        gold = [str(row.severity) for row in rows]
        said = [str(int(each["severity"])) for each in signals]
        lines += [
            "",
            "severity as the worker computes it (0 none, 1 no explicit reproach, 2 disapproval,\n"
            "3 accusation, 4 blame) against the 2023 annotations:",
            score(gold, said, sorted(set(gold))).format("signalled"),
        ]
    return "\n".join(lines)


def learned_from(rows: list[LabeledMention]) -> int | None:
    """How many of the rows' texts the shipped text models learned from (None when the corpus
    is not beside the repository to tell)."""
    from chalicelib.classify.training import load_complaints

    try:
        taught = {row["text"] for row in load_complaints()}
    except FileNotFoundError:
        return None
    return sum(row.mention.text in taught for row in rows)


@dataclass(frozen=True)
class Part:
    """Some of a file's rows scored apart."""

    mentions: int
    macro_f1: float

    def as_json(self) -> dict[str, Any]:
        """As `switchboard eval --json` prints it."""
        return {"mentions": self.mentions, "macro_f1": round(self.macro_f1, 4)}


def clear_cut_apart(rows: list[LabeledMention], predicted: list[str]) -> dict[str, Part]:
    """Macro F1 apart on the rows the labeler found clear-cut and on those marked ambiguous (two
    departments defensible), when the file marks any; else nothing."""
    if not any(row.ambiguous for row in rows):
        return {}
    part = {False: "clear-cut", True: "ambiguous"}
    parts = [part[row.ambiguous] for row in rows]
    return _apart(rows, predicted, parts, list(part.values()))


def by_source_apart(rows: list[LabeledMention], predicted: list[str]) -> dict[str, Part]:
    """Macro F1 apart on the rows of each source (the file's `source` column), when they come
    from more than one: where routing does well and where not; else nothing."""
    if len({row.source for row in rows}) < 2:
        return {}
    return _apart(rows, predicted, [row.source or "?" for row in rows])


def format_apart(heading: str, parts: dict[str, Part]) -> str:
    """`heading name (rows) macro F1, …`."""
    shown = [f"{name} ({part.mentions}) {part.macro_f1:.3f}" for name, part in parts.items()]
    return f"{heading} {', '.join(shown)}"


def _apart(
    rows: list[LabeledMention],
    predicted: list[str],
    parts: list[str],
    order: list[str] | None = None,
) -> dict[str, Part]:
    """Each part the rows fall in, scored, in `order` (else in order of first appearance)."""
    scored = {}
    for name in order or dict.fromkeys(parts):
        picked = [i for i, part in enumerate(parts) if part == name]
        gold = [rows[i].label for i in picked]
        report = score(gold, [predicted[i] for i in picked], sorted(set(gold)))
        scored[name] = Part(len(picked), report.macro_f1)
    return scored


def is_miss(label: str, department: str) -> bool:
    """Routed away from its label: another department, or for the complaints corpus a human-labeled
    complaint that reached neither support nor pr (its other groups have no one right place)."""
    if label == COMPLAINT:
        return department not in ANSWERING
    return label not in (NOT_A_COMPLAINT, NOT_TO_A_COMPANY) and department != label


LEFT_TO_TRIAGE = "left to triage"


def format_by_rule(rows: list[LabeledMention], decisions: list[Decision]) -> str:
    """A row per deciding rule (the department model and triage included), the busiest first:
    how many mentions it decided, how many of those went astray (`is_miss`) and the labels of
    what it decided: which rule an admin should look at first."""
    labels = sorted({row.label for row in rows})
    decided: dict[str, Counter[str]] = {}
    astray: Counter[str] = Counter()
    for row, decision in zip(rows, decisions, strict=True):
        rule = decision.decided_by or LEFT_TO_TRIAGE
        decided.setdefault(rule, Counter())[row.label] += 1
        astray[rule] += is_miss(row.label, decision.department)
    width = max(map(len, [*decided, "rule"])) + 2
    cell = max(map(len, labels), default=0) + 2
    lines = [
        f"{'rule':<{width}}{'decided':>8}{'astray':>8}" + "".join(f"{x:>{cell}}" for x in labels)
    ]
    for rule, counts in sorted(decided.items(), key=lambda item: -item[1].total()):
        cells = "".join(f"{counts[label]:>{cell}}" for label in labels)
        lines.append(f"{rule:<{width}}{counts.total():>8}{astray[rule]:>8}{cells}")
    return "\n".join(lines)


def format_misses(misses: list[tuple[LabeledMention, Decision]]) -> str:
    """The misrouted mentions grouped by the rule that decided them, the rules with the most
    first, each with the rule's reason: what an admin reads to see which rule to fix."""
    from chalicelib.services.routing import CLASSIFIER

    groups: dict[str, list[str]] = {}
    for row, decision in misses:
        rule = decision.decided_by or LEFT_TO_TRIAGE
        why = dict(decision.matched_rules).get(decision.decided_by or CLASSIFIER)
        groups.setdefault(rule, []).append(
            f"  {row.mention.id}  {row.label} → {decision.department}: {row.mention.text!r}"
            + (f"\n      because {why}" if why else "")
        )
    lines = []
    for rule, entries in sorted(groups.items(), key=lambda item: -len(item[1])):
        lines.append(f"{rule}: {len(entries)} misrouted")
        lines.extend(entries)
    return "\n".join(lines) if lines else "no misrouted mentions"
