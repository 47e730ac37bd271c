"""The stylesheet is what it reads as: every block closed where it looks closed.

The project writes no nested CSS, so a rule inside a rule, or an @media inside an @media,
is a brace left open that silently moves every later rule under a condition (a
phone-only media query, say).
"""

from pathlib import Path

import tinycss2
from tinycss2.ast import AtRule, ParseError, QualifiedRule

STYLESHEET = Path(__file__).resolve().parents[1] / "static" / "css" / "kajaccess.css"


def problems(rules, inside: str = "") -> list[str]:
    found = []
    for rule in rules:
        where = f"line {rule.source_line}"
        if isinstance(rule, ParseError):
            found.append(f"{where}: {rule.message}")
        elif isinstance(rule, AtRule) and rule.content is not None:
            if inside:
                found.append(f"{where}: @{rule.at_keyword} inside {inside}")
            elif rule.lower_at_keyword in ("media", "supports"):
                nested = tinycss2.parse_rule_list(
                    rule.content, skip_comments=True, skip_whitespace=True
                )
                found += problems(nested, inside=f"@{rule.at_keyword}")
        elif isinstance(rule, QualifiedRule):
            body = tinycss2.parse_blocks_contents(
                rule.content, skip_comments=True, skip_whitespace=True
            )
            found += [
                f"line {part.source_line}: a rule inside the rule of line {rule.source_line}"
                for part in body
                if isinstance(part, QualifiedRule | AtRule)
            ]
    return found


def test_every_block_of_the_stylesheet_is_closed_where_it_looks_closed():
    rules = tinycss2.parse_stylesheet(
        STYLESHEET.read_text(), skip_comments=True, skip_whitespace=True
    )
    assert problems(rules) == []
    assert len(rules) > 400  # the whole file was read as rules, not swallowed by one
