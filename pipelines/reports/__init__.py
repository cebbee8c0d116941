"""Answers as they may be shown or published.

The analytics (`pipelines.analytics`) answer questions with every count as it is. A number that
leaves for a director, an analyst, a CSV download or a report passes through this package,
which applies the small-cell rule (`suppression`) once, the same way everywhere. Pages for
non-clinicians import from here, never from `suppression`'s internals.
"""
