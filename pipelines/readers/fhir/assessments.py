"""QuestionnaireResponse and total Observations -> canonical assessments rows.

The scale comes from the response's form (`forms.py`: the Questionnaire's LOINC code, or a
canonical URL or id naming the scale, e.g. http://loinc.org/q/44249-1, .../Questionnaire/phq-9,
Questionnaire/mii-qst-pro-gad-7), else from its items' LOINC codes. Items, nested groups
and answers' nested items flattened, are matched by the LOINC item code in linkId, definition,
an item `code` (not R4, but sent) or the Questionnaire's item; else, once the scale is known,
by the number at the end of the linkId (`PHQ.3`, `phq3`, `Q3`, `H1/T1/Q3`, `phq9_3`, `item_3`,
`3`, `phq-gad7-q03`); a linkId that is a scale's name (`phq9`, `PHQ-9`, `gad7`, `pcl5`: its last
word, or last two, an alias of the registry) is not an item, unless the response or its
Questionnaire numbers its questions the same way (`phq1 ... phq8` beside `phq9`). A question
that is not a scored item (the PHQ-9 difficulty question read as its recorded extra column when
it can be, a comment, a T-score, a total) never quarantines the response. The one question of a
one-item scale, coded with the scale's code (pain 0-10, 72514-3), is its item 1 and its total.
Every code comes from the instrument registry. An Observation carrying a scale's total code
supplies the total of the QuestionnaireResponse it is derivedFrom (EHRs export both);
one derived from nothing in this export is an assessment of its own, with only the total.
"""

from __future__ import annotations

import re

from ...formats import ASSESSMENTS
from ...instruments import REGISTRY, alias_table, normalise_alias
from .codes import ANSWER_CODES
from .forms import LOINC_CODE, Form, Forms, weight_of
from .resources import TOTAL_CODES, Rejected, Row, kind_of, loinc_codes
from .parse import Entry, Index, reference_id

# LOINC item code -> (scale, item column); extra questions follow the scored items.
ITEM_CODES: dict[str, tuple[str, int]] = {
    code: (i.code, n) for i in REGISTRY.values() for n, code in enumerate((*i.loinc_items, *i.extra_items), start=1)
}
ITEM_NUMBER = re.compile(r"^[A-Za-z]*0*(\d{1,2})$")
TRAILING_NUMBER = re.compile(r"0*\d{1,2}$")
SCALE_NAMES = frozenset(alias_table())  # every scale's accepted spelling, normalised (`PHQ9`, `GAD7`, `PCL5`)


class NotANumber(Exception):
    """An answer that cannot be turned into a number; the message names item and value."""

    def __init__(self, message: str, rule: str = "not_a_number"):
        super().__init__(message)
        self.rule = rule


def assessment_outcomes(usable: list[Entry], index: Index, forms: Forms,
                        not_loaded: list[Rejected]) -> list[Row | Rejected]:
    """Rows of responses and total Observations. `not_loaded` holds the responses quarantined
    before mapping (not completed, entered in error, unreadable): a total derived from one of
    them is not a score either, and is quarantined with it rather than loaded on its own."""
    results: list[Row | Rejected] = []
    dropped_index = Index([r.entry for r in not_loaded])
    rule_of = {(r.entry.path, r.entry.source_row): r.rule for r in not_loaded}
    responses = {(e.path, e.source_row): e for e in usable if e.type == "QuestionnaireResponse"}
    recorded_totals: dict[tuple, Entry] = {}
    for entry in usable:
        if entry.type == "Observation" and kind_of(entry) is ASSESSMENTS:
            sources = [index.resolve(r) for r in entry.resource.get("derivedFrom") or []]
            source = next((s for s in sources if s is not None and s.type == "QuestionnaireResponse"), None)
            dropped = next((d for d in map(dropped_index.resolve, entry.resource.get("derivedFrom") or [])
                            if d is not None), None)
            if source is not None:
                recorded_totals.setdefault((source.path, source.source_row), entry)
            elif dropped is not None:
                rule = rule_of[(dropped.path, dropped.source_row)]
                results.append(Rejected(ASSESSMENTS, entry, rule, f"{entry.where()} is the total of "
                                        f"{dropped.where()}, which is quarantined ({rule})"))
            else:
                results.append(_observation_row(entry, index))
    for key, entry in responses.items():
        results.append(_response_row(entry, index, forms.of(entry.resource), recorded_totals.get(key)))
    return results


def _observation_row(entry: Entry, index: Index) -> Row | Rejected:
    resource = entry.resource
    code = next(c for c in loinc_codes(resource.get("code")) if c in TOTAL_CODES)
    try:
        total = _observation_total(entry)
    except NotANumber as error:
        return Rejected(ASSESSMENTS, entry, "not_a_number", str(error))
    return Row(ASSESSMENTS, entry, _values(
        assessment_id=entry.id,
        patient_id=reference_id(resource.get("subject"), "Patient", index),
        instrument=TOTAL_CODES[code],
        administered_at=(resource.get("effectiveDateTime") or resource.get("effectiveInstant")
                         or (resource.get("effectivePeriod") or {}).get("start")),
        session_id=_session(resource, index),
        total=total,
    ))


def _observation_total(entry: Entry) -> float | None:
    resource = entry.resource
    if isinstance(resource.get("valueInteger"), int):
        return float(resource["valueInteger"])
    quantity = resource.get("valueQuantity") or {}
    if isinstance(quantity.get("value"), (int, float)):
        return float(quantity["value"])
    values = {k: v for k, v in resource.items() if k.startswith("value")}
    if values:
        raise NotANumber(f"{entry.where()} total {_shown(values)} is not a number")
    return None


def _response_row(entry: Entry, index: Index, form: Form, recorded_total: Entry | None) -> Row | Rejected:
    resource = entry.resource
    items = [i for i in _flatten(resource.get("item") or []) if _answers(i)]
    scale = form.scale or _scale_of_items(items, form)
    questionnaire = resource.get("questionnaire")
    if isinstance(questionnaire, dict):
        questionnaire = questionnaire.get("reference")
    values = _values(
        assessment_id=entry.id,
        patient_id=reference_id(resource.get("subject"), "Patient", index),
        instrument=scale or (questionnaire if isinstance(questionnaire, str) else None),
        administered_at=resource.get("authored"),
        session_id=_session(resource, index),
    )
    instrument = REGISTRY.get(scale) if scale else None
    numbered = _numbered_links([*(str(i.get("linkId", "")) for i in _flatten(resource.get("item") or [])),
                                *form.codes])
    try:
        for item in items:
            link = str(item.get("linkId", ""))
            answer = _answers(item)[0]
            where = f"{entry.where()} {scale or 'item'} linkId {link!r}"
            codes = _item_codes(item, form)
            total_of = next((TOTAL_CODES[c] for c in codes if c in TOTAL_CODES), None)
            if total_of is not None:
                if total_of == scale:
                    values["total"] = _number(answer, link, form, where, "total")
                    if instrument is not None and instrument.n_columns == 1:
                        # A one-question scale (pain 0-10, LOINC 72514-3): the answered question is its item too.
                        values["item_1"] = values["total"]
                continue
            column = next((ITEM_CODES[c][1] for c in codes if c in ITEM_CODES and ITEM_CODES[c][0] == scale), None)
            coded = LOINC_CODE.search(link) or LOINC_CODE.search(str(item.get("definition") or ""))
            if column is None and (codes or coded or instrument is None):
                continue  # another scale's question, or a LOINC code we do not read
            column = column or _item_number(link, numbered)
            if column is None or not 1 <= column <= instrument.n_columns:
                continue  # not a question of the scale (a comment, a section, a T-score)
            if column > instrument.n_items:  # an extra question (PHQ-9 difficulty): kept when readable
                try:
                    values[f"item_{column}"] = _number(answer, link, form, where, "item")
                except NotANumber:
                    pass
                continue
            values[f"item_{column}"] = _number(answer, link, form, where, "item")
        if values["total"] is None and recorded_total is not None:
            values["total"] = _observation_total(recorded_total)
    except NotANumber as error:
        return Rejected(ASSESSMENTS, entry, error.rule, str(error))
    return Row(ASSESSMENTS, entry, values)


def _values(**given) -> dict:
    values = dict.fromkeys(ASSESSMENTS.columns)
    values.update(given)
    return values


def _session(resource: dict, index: Index) -> str | None:
    for reference in resource.get("partOf") or []:
        session = reference_id(reference, "Procedure", index)
        if session:
            return session
    return None


def _flatten(items: list):
    """Every item, with the items of groups and of answers (`item[].answer[].item[]`)."""
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from _flatten(item.get("item") or [])
            for answer in item.get("answer") or []:
                if isinstance(answer, dict):
                    yield from _flatten(answer.get("item") or [])


def _answers(item: dict) -> list[dict]:
    return [a for a in item.get("answer") or [] if isinstance(a, dict) and any(k.startswith("value") for k in a)]


def _item_codes(item: dict, form: Form) -> list[str]:
    """The LOINC codes an item carries (linkId, definition, an item `code`) or its Questionnaire
    item gives, that the registry knows."""
    found = []
    for text in (item.get("linkId"), item.get("definition")):
        if isinstance(text, str):
            found += LOINC_CODE.findall(text)
    code = item.get("code")  # not an R4 element, but apps send it
    found += loinc_codes({"coding": code if isinstance(code, list) else [code] if isinstance(code, dict) else []})
    found += form.codes.get(str(item.get("linkId", "")), [])
    return [c for c in found if c in ITEM_CODES or c in TOTAL_CODES]


def _scale_of_items(items: list[dict], form: Form) -> str | None:
    for item in items:
        for code in _item_codes(item, form):
            return ITEM_CODES[code][0] if code in ITEM_CODES else TOTAL_CODES[code]
    return None


def _item_number(link: str, numbered: dict[str, int]) -> int | None:
    """The item number at the end of a linkId: the digits of its last part (split at / . _ -
    and spaces) after any letters: `H1/T1/Q3`, `PHQ.3`, `phq3`, `phq9_3`, `item_3`, `q03`, `3`.

    A linkId that names a scale (`phq9`, `PHQ-9`, `gad7`, `GAD-7`, `pcl5`: its last word, or its
    last two joined, is an alias in the instrument registry) is the scale, e.g. an app's total
    beside `phq9_1 ... phq9_9`, not its item 9 (the suicidality question), unless it ends a
    series: another linkId of the response or its Questionnaire with the same text before the
    number (`phq1 ... phq8` beside `phq9`, `PHQ.1 ... PHQ.8` beside `PHQ.9`)."""
    match = ITEM_NUMBER.match(re.split(r"[/._\-\s]", link.strip())[-1])
    if not match:
        return None
    if _names_a_scale(link) and numbered.get(_series(link), 0) < 2:
        return None
    return int(match.group(1))


def _names_a_scale(link: str) -> bool:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", link) if w]
    return any(normalise_alias("".join(words[-size:])) in SCALE_NAMES for size in (1, 2) if len(words) >= size)


def _series(link: str) -> str:
    """A numbered linkId's text before its number, any case: `phq` for `phq9`, `phq9_` for `phq9_3`."""
    return TRAILING_NUMBER.sub("", link.strip()).casefold()


def _numbered_links(links: list[str]) -> dict[str, int]:
    """How many distinct numbered linkIds share each text before the number (`_series`)."""
    counts: dict[str, int] = {}
    for link in {link.strip() for link in links}:
        if ITEM_NUMBER.match(re.split(r"[/._\-\s]", link)[-1]):
            counts[_series(link)] = counts.get(_series(link), 0) + 1
    return counts


def _number(answer: dict, link: str, form: Form, where: str, what: str) -> float:
    """An answer as a number: valueInteger, valueDecimal, valueQuantity, a valueCoding's
    ordinalValue / itemWeight extension, its weight in the form (Questionnaire answerOption,
    CodeSystem or ValueSet), or a LOINC answer code (LL358-3, LL359-1)."""
    for key in ("valueInteger", "valueDecimal"):
        if isinstance(answer.get(key), (int, float)) and not isinstance(answer.get(key), bool):
            return float(answer[key])
    quantity = answer.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), (int, float)):
        return float(quantity["value"])
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        weight = weight_of(coding)
        if weight is None:
            weight = form.weight(link, coding)
        if weight is None and coding.get("code") in ANSWER_CODES:
            weight = float(ANSWER_CODES[coding["code"]])
        if weight is not None:
            return weight
    shown = _shown({k: v for k, v in answer.items() if k.startswith("value")})
    raise NotANumber(f"{where}: {what} answer {shown} is not a number (valueInteger, valueDecimal, "
                     "an ordinalValue extension, a weight in the Questionnaire or a LOINC answer code "
                     "LA6568-5 ... LA6571-9)",
                     "item_not_whole" if what == "item" else "not_a_number")


def _shown(values: dict) -> str:
    parts = []
    for name, value in values.items():
        if isinstance(value, dict):
            value = "|".join(str(value[k]) for k in ("system", "code", "display") if value.get(k) is not None)
        parts.append(f"{name} {value!r}" if isinstance(value, str) else f"{name} {value}")
    return "; ".join(parts) or "(none)"
