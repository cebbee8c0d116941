"""QuestionnaireResponse and total Observations -> canonical assessments rows.

The scale comes from `questionnaire` (a canonical holding the LOINC panel or total code, e.g.
http://loinc.org/q/44249-1, or ending in the scale's name, e.g. .../Questionnaire/PCL-5), else
from its items' LOINC codes. Items are matched by the LOINC item code in linkId or definition,
else by a linkId naming the position (`1`, `item_1`, `phq9_1`). Every code comes from the
instrument registry. An Observation carrying a scale's total code supplies the total of the
QuestionnaireResponse it is derivedFrom (EHRs export both); one derived from nothing in this
export is an assessment of its own, with only the total.
"""

from __future__ import annotations

import re

from ...formats import ASSESSMENTS, MAX_ITEM_COLUMNS
from ...instruments import REGISTRY, alias_table, normalise_alias
from .codes import ANSWER_CODES, ORDINAL_VALUE
from .resources import TOTAL_CODES, Rejected, Row, kind_of, loinc_codes
from .parse import Entry, Index, reference_id

PANEL_CODES: dict[str, str] = {i.loinc_panel: i.code for i in REGISTRY.values() if i.loinc_panel}
# LOINC item code -> (scale, item column); extra questions follow the scored items.
ITEM_CODES: dict[str, tuple[str, int]] = {
    code: (i.code, n) for i in REGISTRY.values() for n, code in enumerate((*i.loinc_items, *i.extra_items), start=1)
}
LOINC_CODE = re.compile(r"(?<![\d-])(\d{1,8}-\d)(?![\d-])")
POSITION = re.compile(r"^(?:.*[_\-/.]|item|q)?(\d{1,2})$", re.IGNORECASE)


class NotANumber(Exception):
    """An answer that cannot be turned into a number; the message names item and value."""

    def __init__(self, message: str, rule: str = "not_a_number"):
        super().__init__(message)
        self.rule = rule


def assessment_outcomes(usable: list[Entry], index: Index) -> list[Row | Rejected]:
    results: list[Row | Rejected] = []
    responses = {(e.path, e.source_row): e for e in usable if e.type == "QuestionnaireResponse"}
    recorded_totals: dict[tuple, Entry] = {}
    for entry in usable:
        if entry.type == "Observation" and kind_of(entry) is ASSESSMENTS:
            sources = [index.resolve(r) for r in entry.resource.get("derivedFrom") or []]
            source = next((s for s in sources if s is not None and s.type == "QuestionnaireResponse"), None)
            if source is not None:
                recorded_totals.setdefault((source.path, source.source_row), entry)
            else:
                results.append(_observation_row(entry, index))
    for key, entry in responses.items():
        results.append(_response_row(entry, index, recorded_totals.get(key)))
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


def _response_row(entry: Entry, index: Index, recorded_total: Entry | None) -> Row | Rejected:
    resource = entry.resource
    items = list(_flatten(resource.get("item") or []))
    scale, scale_text = _scale(resource.get("questionnaire"), items)
    values = _values(
        assessment_id=entry.id,
        patient_id=reference_id(resource.get("subject"), "Patient", index),
        instrument=scale or scale_text,
        administered_at=resource.get("authored"),
        session_id=_session(resource, index),
    )
    try:
        for item in items:
            link = str(item.get("linkId", ""))
            code = _item_code(item)
            answers = [a for a in item.get("answer") or [] if isinstance(a, dict)]
            if not answers:
                continue
            where = f"{entry.where()} {scale or 'item'} linkId {link!r}"
            if code and code in TOTAL_CODES:
                if TOTAL_CODES[code] == scale:
                    values["total"] = _number(answers[0], where, "total")
                continue
            if code and code in ITEM_CODES:
                item_scale, column = ITEM_CODES[code]
                if item_scale != scale:
                    continue  # another scale's question on the same form: not read
            else:
                position = POSITION.match(link)
                if not position or not 1 <= int(position.group(1)) <= MAX_ITEM_COLUMNS:
                    continue  # not a scored question (a comment, a section heading)
                column = int(position.group(1))
            values[f"item_{column}"] = _number(answers[0], where, "item")
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
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from _flatten(item.get("item") or [])


def _item_code(item: dict) -> str | None:
    for text in (item.get("linkId"), item.get("definition")):
        if isinstance(text, str):
            for code in LOINC_CODE.findall(text):
                if code in ITEM_CODES or code in TOTAL_CODES:
                    return code
    return None


def _scale(questionnaire, items: list[dict]) -> tuple[str | None, str | None]:
    """(registry code, or None; the questionnaire text to report when the scale is unknown)."""
    if isinstance(questionnaire, str) and questionnaire.strip():
        for code in LOINC_CODE.findall(questionnaire):
            if code in PANEL_CODES or code in TOTAL_CODES:
                return PANEL_CODES.get(code) or TOTAL_CODES[code], questionnaire
        name = questionnaire.split("|")[0].rstrip("/").rsplit("/", 1)[-1]
        if normalise_alias(name) in alias_table():
            return alias_table()[normalise_alias(name)], questionnaire
    for item in items:
        code = _item_code(item)
        if code:
            return (ITEM_CODES[code][0] if code in ITEM_CODES else TOTAL_CODES[code]), None
    return None, questionnaire if isinstance(questionnaire, str) else None


def _number(answer: dict, where: str, what: str) -> float:
    """An answer as a number: valueInteger, valueDecimal, a valueCoding's ordinalValue
    extension, or a LOINC answer code from the clinical reference's table."""
    if isinstance(answer.get("valueInteger"), int):
        return float(answer["valueInteger"])
    if isinstance(answer.get("valueDecimal"), (int, float)):
        return float(answer["valueDecimal"])
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        for extension in coding.get("extension") or []:
            if extension.get("url") == ORDINAL_VALUE and isinstance(extension.get("valueDecimal"), (int, float)):
                return float(extension["valueDecimal"])
        if coding.get("code") in ANSWER_CODES:
            return float(ANSWER_CODES[coding["code"]])
    shown = _shown({k: v for k, v in answer.items() if k.startswith("value")})
    raise NotANumber(f"{where}: {what} answer {shown} is not a number (valueInteger, valueDecimal, "
                     "an ordinalValue extension or a LOINC answer code LA6568-5 ... LA6571-9)",
                     "item_not_whole" if what == "item" else "not_a_number")


def _shown(values: dict) -> str:
    parts = []
    for name, value in values.items():
        if isinstance(value, dict):
            value = "|".join(str(value[k]) for k in ("system", "code", "display") if value.get(k) is not None)
        parts.append(f"{name} {value!r}" if isinstance(value, str) else f"{name} {value}")
    return "; ".join(parts) or "(none)"
