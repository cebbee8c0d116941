"""What a patient reads on the check-in page: each scale's instructions, items and answer
choices as the published questionnaire words them, where the wording comes from and on what
terms it may be used, and which scales a patient's indication calls for.

The scoring facts (number of items, answer range, which item is the safety item) are the
registry's (pipelines/instruments.py); this module checks its wording against them at import,
so a scale added to the registry without its wording, or with a wrong number of items, fails
loudly rather than showing a short form.

Sources and terms:
- PHQ-9 and GAD-7: Kroenke, Spitzer & Williams 2001; Spitzer et al. 2006. Developed by Drs.
  Spitzer, Williams, Kroenke and colleagues with an educational grant from Pfizer Inc.; no
  permission is required to reproduce, translate, display or distribute them (phqscreeners.com).
- PCL-5: Weathers, Litz, Keane, Palmieri, Marx & Schnurr 2013, National Center for PTSD; a
  work of the US government, in the public domain (ptsd.va.gov).
- Pain: the 0-10 numeric rating scale (LOINC 72514-3), a generic scale that no one owns.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.instruments import REGISTRY


@dataclass(frozen=True)
class Questionnaire:
    code: str  # registry code
    title: str
    instructions: str
    items: tuple[str, ...]  # scored items, in order
    choices: tuple[str, ...]  # labels of the answers 0, 1, 2, ...
    source: str  # where the wording is from, and its terms of use
    extra_items: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (question, its choices): recorded, not summed


FREQUENCY = ("Not at all", "Several days", "More than half the days", "Nearly every day")
PHQ_SOURCE = ("PHQ-9 and GAD-7: Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an "
              "educational grant from Pfizer Inc. No permission required to reproduce, translate, display or "
              "distribute.")

PHQ9 = Questionnaire(
    code="PHQ-9",
    title="How you have been feeling (PHQ-9)",
    instructions="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    items=(
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite: being so fidgety "
        "or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ),
    choices=FREQUENCY,
    source=PHQ_SOURCE,
    extra_items=((
        "If you checked off any problems, how difficult have these problems made it for you to do your work, take "
        "care of things at home, or get along with other people?",
        ("Not difficult at all", "Somewhat difficult", "Very difficult", "Extremely difficult")),),
)

GAD7 = Questionnaire(
    code="GAD-7",
    title="Worry and anxiety (GAD-7)",
    instructions="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    ),
    choices=FREQUENCY,
    source=PHQ_SOURCE,
)

PAIN = Questionnaire(
    code="PAIN-NRS",
    title="Pain",
    instructions="On a scale from 0 to 10, where 0 is no pain and 10 is the worst pain you can imagine:",
    items=("How much pain do you have right now?",),
    choices=tuple(str(n) for n in range(11)),
    source="Pain 0-10 numeric rating scale (LOINC 72514-3): free to use.",
)

PCL5 = Questionnaire(
    code="PCL-5",
    title="Reactions to a stressful experience (PCL-5)",
    instructions="Below is a list of problems that people sometimes have in response to a very stressful "
                 "experience. Please read each problem carefully and then choose how much you have been bothered "
                 "by that problem in the past month.",
    items=(
        "Repeated, disturbing, and unwanted memories of the stressful experience?",
        "Repeated, disturbing dreams of the stressful experience?",
        "Suddenly feeling or acting as if the stressful experience were actually happening again (as if you were "
        "actually back there reliving it)?",
        "Feeling very upset when something reminded you of the stressful experience?",
        "Having strong physical reactions when something reminded you of the stressful experience (for example, "
        "heart pounding, trouble breathing, sweating)?",
        "Avoiding memories, thoughts, or feelings related to the stressful experience?",
        "Avoiding external reminders of the stressful experience (for example, people, places, conversations, "
        "activities, objects, or situations)?",
        "Trouble remembering important parts of the stressful experience?",
        "Having strong negative beliefs about yourself, other people, or the world (for example, having thoughts "
        "such as: I am bad, there is something seriously wrong with me, no one can be trusted, the world is "
        "completely dangerous)?",
        "Blaming yourself or someone else for the stressful experience or what happened after it?",
        "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
        "Loss of interest in activities that you used to enjoy?",
        "Feeling distant or cut off from other people?",
        "Trouble experiencing positive feelings (for example, being unable to feel happiness or have loving "
        "feelings for people close to you)?",
        "Irritable behavior, angry outbursts, or acting aggressively?",
        "Taking too many risks or doing things that could cause you harm?",
        "Being \u201csuperalert\u201d or watchful or on guard?",
        "Feeling jumpy or easily startled?",
        "Having difficulty concentrating?",
        "Trouble falling or staying asleep?",
    ),
    choices=("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"),
    source="PCL-5: Weathers, Litz, Keane, Palmieri, Marx & Schnurr (2013), National Center for PTSD. In the "
           "public domain.",
)

QUESTIONNAIRES: dict[str, Questionnaire] = {q.code: q for q in (PHQ9, GAD7, PCL5, PAIN)}

# Which scales a check-in asks, by the patient's primary indication: the indication's own scale
# first, and PHQ-9 for everyone, because its item 9 is the safety question every ketamine
# patient is screened with at each visit (clinical reference: item 9 > 0 is a safety flag
# whatever the indication). An indication not listed (or not recorded) gets DEFAULT_SCALES.
SCALES_BY_INDICATION: dict[str, tuple[str, ...]] = {
    "depression": ("PHQ-9", "GAD-7"),
    "bipolar_depression": ("PHQ-9", "GAD-7"),
    "anxiety": ("GAD-7", "PHQ-9"),
    "ptsd": ("PCL-5", "PHQ-9"),
    "chronic_pain": ("PAIN-NRS", "PHQ-9"),
}
DEFAULT_SCALES = ("PHQ-9", "GAD-7")


def scales_for(indication: str | None) -> tuple[Questionnaire, ...]:
    """The questionnaires a patient with `indication` answers, in the order asked."""
    return tuple(QUESTIONNAIRES[code] for code in SCALES_BY_INDICATION.get(indication or "", DEFAULT_SCALES))


def _check_against_registry() -> None:
    for code, questionnaire in QUESTIONNAIRES.items():
        scale = REGISTRY[code]
        problems = []
        if len(questionnaire.items) != scale.n_items:
            problems.append(f"{len(questionnaire.items)} items worded, the registry scores {scale.n_items}")
        if len(questionnaire.choices) != scale.item_max - scale.item_min + 1:
            problems.append(f"{len(questionnaire.choices)} choices, answers run {scale.item_min}-{scale.item_max}")
        if len(questionnaire.extra_items) != len(scale.extra_items):
            problems.append(f"{len(questionnaire.extra_items)} extra questions, the registry has {len(scale.extra_items)}")
        if problems:
            raise ValueError(f"check-in wording of {code} disagrees with the registry: " + "; ".join(problems))


_check_against_registry()
