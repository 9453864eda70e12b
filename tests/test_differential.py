"""Differential tests against pyahocorasick, where the semantics overlap: string
indicators are byte-exact substrings, every occurrence reported, overlaps included."""

from __future__ import annotations

import random

import ahocorasick
from hypothesis import given, settings
from hypothesis import strategies as st

import vedette


def ahocorasick_spans(patterns: list[str], text: str) -> list[tuple[int, int, str]]:
    automaton = ahocorasick.Automaton()
    for p in patterns:
        automaton.add_word(p, p)
    automaton.make_automaton()
    # pyahocorasick yields (end_index, value) with an inclusive end: [end - len + 1, end + 1).
    return sorted((end - len(p) + 1, end + 1, p) for end, p in automaton.iter(text))


def vedette_spans(patterns: list[str], text: str) -> list[tuple[int, int, str]]:
    builder = vedette.IndexBuilder()
    for p in patterns:
        builder.add(p, kind="string")
    index = builder.build()
    return sorted((m.start, m.end, m.indicators[0].value) for m in index.find(text))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abé.", min_size=1, max_size=4).filter(str.strip), min_size=1, max_size=6
    ),
    st.text(alphabet="abé. ", max_size=60),
)
def test_strings_agree_with_pyahocorasick(patterns: list[str], text: str) -> None:
    patterns = sorted(set(patterns))
    assert vedette_spans(patterns, text) == ahocorasick_spans(patterns, text)


def test_user_agents_on_a_large_text() -> None:
    rng = random.Random(3)
    agents = [f"Agent{n}/{n % 7}.0" for n in range(200)]
    text = " ".join(rng.choice([*agents, "noise", "Agent", "/1.0"]) for _ in range(5000))
    assert vedette_spans(agents, text) == ahocorasick_spans(agents, text)
