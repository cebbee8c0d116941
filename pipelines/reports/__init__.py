"""Answers as they may be shown or published.

The analytics (`pipelines.analytics`) answer questions with every count as it is. A number that
leaves for a director, an analyst, a CSV download or a report passes through this package,
which applies the small-cell rule once, the same way everywhere:

- `suppression`: the rule applied to frames (what a small cell is, blanking, tables of counts
  with rates, Kaplan-Meier risk tables);
- `complementary`: which further cells to blank so that no small cell can be worked out;
- `marks`: how a suppressed cell is written ("suppressed") and the legend that explains it;
- `clinic`: every table of the Clinic outcomes page as it may be published (with `course`: the
  trajectory, time to response, retention and safety tables, `change`: the waterfall and
  severity transitions, and `groups`: outcomes by clinician, site and month);
- `headline`: the headline response and remission on each basis (completers, intention to
  treat, last observation carried forward), each labelled with its denominator;
- `board` (with `board_text`, `board_pdf`, `board_html`, `benchmarks`): the director's one-page
  outcomes report, PDF and HTML, beside the published real-world figures.

Pages for non-clinicians import from `clinic` (and the like), never from `suppression`'s
internals.
"""
