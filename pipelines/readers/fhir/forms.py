"""What a QuestionnaireResponse's form says about its answers: the scale it is, the LOINC
code of each linkId, and the number each coded answer stands for.

Apps and guides do not all put LOINC codes in the response: the SDC PHQ-9 example answers
`H1/T1/Q3` with a code of its own CodeSystem whose concepts carry an `itemWeight`; LHC-Forms
and US Core put the item's LOINC code in the linkId (`/44250-9`); the German MII PROMs module
numbers items `PHQ.3`. So the reader looks, in order, at the response itself, the Questionnaire
it names (contained, `#id`, or in the same export by canonical url or id), and the CodeSystems
and ValueSets of the export or contained in the response, for answer weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...instruments import REGISTRY, alias_table, normalise_alias
from .codes import WEIGHT_EXTENSIONS, WEIGHT_PROPERTIES
from .parse import Entry
from .resources import TOTAL_CODES, loinc_codes

PANEL_CODES: dict[str, str] = {i.loinc_panel: i.code for i in REGISTRY.values() if i.loinc_panel}
LOINC_CODE = re.compile(r"(?<![\d-])(\d{1,8}-\d)(?![\d-])")
FORM_TYPES = ("Questionnaire", "CodeSystem", "ValueSet")


def scale_named(text) -> str | None:
    """The scale a canonical URL, id or name names: `.../Questionnaire/phq-9-questionnaire`,
    `Questionnaire/phq9`, `mii-qst-pro-gad-7`, `http://loinc.org/q/44249-1|2.74`, `PCL-5`."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.split("|")[0]
    for code in LOINC_CODE.findall(text):
        if code in PANEL_CODES or code in TOTAL_CODES:
            return PANEL_CODES.get(code) or TOTAL_CODES[code]
    table = alias_table()
    last = normalise_alias(text.rstrip("/").rsplit("/", 1)[-1])
    if last in table:
        return table[last]
    # A name with its number (`phq-9`, `gad7`) anywhere in the text; a bare `pain` or `phq`
    # inside a longer name is too loose (`promis-pain-interference`).
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    for size in (2, 1):
        for start in range(len(words) - size + 1):
            alias = normalise_alias("".join(words[start:start + size]))
            if alias in table and any(ch.isdigit() for ch in alias):
                return table[alias]
    return None


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def weight_of(element: dict) -> float | None:
    """The ordinalValue / itemWeight extension on a Coding, answerOption or expansion entry."""
    for extension in element.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") in WEIGHT_EXTENSIONS:
            number = _number(extension.get("valueDecimal", extension.get("valueInteger")))
            if number is not None:
                return number
    return None


@dataclass
class Form:
    """One response's form: the scale, the codes of each linkId, the answers' weights."""

    scale: str | None = None
    codes: dict[str, list[str]] = field(default_factory=dict)  # linkId -> LOINC codes
    weights: dict[tuple, float] = field(default_factory=dict)  # (system, code) or (linkId, system, code)

    def weight(self, link: str, coding: dict) -> float | None:
        system, code = coding.get("system"), coding.get("code")
        # The linkId's own answer options may match by code alone; a terminology's code without
        # its system (`(None, code)`) only a coding that has no system either: the same code in
        # another system is another answer.
        keys = [(link, system, code), (system, code), (link, None, code)]
        if system is None:
            keys.append((None, code))
        for key in keys:
            if key in self.weights:
                return self.weights[key]
        return None

    def add_questionnaire(self, questionnaire: dict) -> None:
        self.scale = self.scale or next((PANEL_CODES.get(c) or TOTAL_CODES.get(c)
                                         for c in loinc_codes({"coding": questionnaire.get("code")})
                                         if c in PANEL_CODES or c in TOTAL_CODES), None)
        for key in ("url", "name", "id", "title"):
            self.scale = self.scale or scale_named(questionnaire.get(key))
        for item in _items(questionnaire.get("item")):
            link = str(item.get("linkId", ""))
            self.codes[link] = loinc_codes({"coding": item.get("code")})
            for option in item.get("answerOption") or []:
                coding = option.get("valueCoding") if isinstance(option, dict) else None
                if isinstance(coding, dict):
                    weight = weight_of(option) if weight_of(option) is not None else weight_of(coding)
                    if weight is not None:
                        self.weights[(link, coding.get("system"), coding.get("code"))] = weight

    def add_terminology(self, resource: dict) -> None:
        """Weights of a CodeSystem's concepts (an itemWeight property) or a ValueSet's expansion."""
        if resource.get("resourceType") == "CodeSystem":
            for concept in _concepts(resource.get("concept")):
                weight = weight_of(concept)
                for prop in concept.get("property") or []:
                    if isinstance(prop, dict) and prop.get("code") in WEIGHT_PROPERTIES and weight is None:
                        weight = _number(prop.get("valueDecimal", prop.get("valueInteger")))
                if weight is not None:
                    self.weights.setdefault((resource.get("url"), concept.get("code")), weight)
                    self.weights.setdefault((None, concept.get("code")), weight)
        elif resource.get("resourceType") == "ValueSet":
            for entry in _concepts((resource.get("expansion") or {}).get("contains"), "contains"):
                weight = weight_of(entry)
                if weight is not None:
                    self.weights.setdefault((entry.get("system"), entry.get("code")), weight)


def _items(items, key: str = "item"):
    for item in items or []:
        if isinstance(item, dict):
            yield item
            yield from _items(item.get(key), key)


def _concepts(concepts, key: str = "concept"):
    return _items(concepts, key)


class Forms:
    """The Questionnaires, CodeSystems and ValueSets of one export, found by url or id."""

    def __init__(self, entries: list[Entry]):
        self.by_name: dict[str, dict] = {}
        terminology = Form()  # the export's CodeSystem and ValueSet weights, read once
        for entry in entries:
            resource = entry.resource
            if entry.type == "Questionnaire":
                for name in (resource.get("url"), entry.id and f"Questionnaire/{entry.id}", entry.full_url):
                    if isinstance(name, str):
                        self.by_name.setdefault(name.split("|")[0], resource)
            elif entry.type in ("CodeSystem", "ValueSet"):
                terminology.add_terminology(resource)
        self.weights = terminology.weights

    def of(self, response: dict) -> Form:
        form = Form(weights=dict(self.weights))
        contained = [r for r in response.get("contained") or [] if isinstance(r, dict)]
        for resource in contained:
            form.add_terminology(resource)
        questionnaire = response.get("questionnaire")
        if isinstance(questionnaire, dict):  # STU3 shape (a Reference): read its reference
            questionnaire = questionnaire.get("reference")
        if isinstance(questionnaire, str):
            name = questionnaire.split("|")[0]
            found = None
            if name.startswith("#"):
                found = next((r for r in contained if r.get("resourceType") == "Questionnaire"
                              and f"#{r.get('id')}" == name), None)
            else:
                found = self.by_name.get(name) or self.by_name.get(
                    "Questionnaire/" + name.rstrip("/").rsplit("/", 1)[-1])
            if found is not None:
                form.add_questionnaire(found)
                for key in ("url", "derivedFrom"):
                    values = found.get(key)
                    for value in values if isinstance(values, list) else [values]:
                        form.scale = form.scale or scale_named(value)
            form.scale = form.scale or scale_named(questionnaire)
        return form
