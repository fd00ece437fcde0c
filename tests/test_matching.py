"""The evidence-pattern engine: stems, placeholders, nearness, phrases, segments."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workbook.matching import PatternError, PatternSet, analyse, compile_pattern, find, find_spans, stem, stems


def matches(pattern: str, text: str) -> list[str]:
    analysed = analyse(text)
    return [analysed.segments[i].text for i in find(analysed, compile_pattern(pattern))]


@pytest.mark.parametrize("words", [("rate", "rates", "rated", "rating"), ("release", "released", "releasing"),
                                   ("use", "used", "using", "uses"), ("policy", "policies"), ("exceed", "exceeded")])
def test_inflections_share_a_stem(words):
    assert len({stem(w) for w in words}) == 1


def test_different_words_keep_different_stems():
    assert stem("note") != stem("not") and stem("can") != stem("canned") and stem("speed") != stem("spe")


def test_terms_must_be_near_each_other_in_one_sentence():
    assert matches("roll back ~ error rate", "If the error rate passes 1%, we roll back.") == ["If the error rate passes 1%, we roll back"]
    assert matches("roll back ~ error rate", "We track the error rate. Later we may roll back.") == []
    far = "roll back " + "word " * 20 + "error rate"
    assert matches("roll back ~ error rate", far) == []


def test_placeholders_recognise_numbers_with_units():
    text = "Refunds over $50 wait 2 business days; 5% of users first; p95 within 3 seconds; 20 cents per call."
    assert matches("{money}", text) and matches("{pct}", text) and matches("{time}", text)
    assert matches("{money} ~ call", text) == ["20 cents per call"]


def test_prefix_matches_words_as_written():
    assert matches("escalat*", "Cases are escalated to a nurse.") and matches("escalat*", "The escalation path.")
    assert matches("rating*", "The error rate is low.") == []


def test_phrase_words_may_have_a_pronoun_between_them():
    assert matches("switch off", "We switch it off at once.")
    assert matches("message queue", "The message triage queue.") == []


def test_segments_split_on_sentences_bullets_and_blank_lines_not_on_wrapped_lines():
    analysed = analyse("First point.\n- bullet one\n- bullet two\n\nA hard wrapped\nsentence, e.g. this one.")
    assert [s.text for s in analysed.segments] == ["First point", "bullet one", "bullet two", "A hard wrapped\nsentence, e.g. this one"]


@pytest.mark.parametrize("bad", ["a|", "x* ~ {nmber}", "ab*", "hello world!"])
def test_malformed_patterns_are_rejected_with_the_pattern_named(bad):
    with pytest.raises(PatternError, match="pattern"):
        compile_pattern(bad)


def test_pattern_set_agrees_with_single_pattern_search():
    sources = ["roll back|revert ~ error rate", "{pct} ~ user*", "switch off", "canary", "human ~ approv*"]
    patterns = [compile_pattern(p) for p in sources]
    text = analyse("We release to 5% of users first. If the error rate passes 1% we switch it off and revert. A human approves refunds.")
    found = PatternSet(patterns).search(text)
    assert {p.source: dict(found.get(p, {})) for p in patterns} == {p.source: find_spans(text, p) for p in patterns}
    assert set(found) == {patterns[0], patterns[1], patterns[2], patterns[4]}


def test_every_shipped_pattern_set_agrees_with_single_pattern_search_on_every_reference_answer():
    """The indexed search (set unions, spans, a prefix table shared by the sets) must find exactly what
    placing each pattern on its own finds, on real prose from every scenario."""
    from workbook import load_all
    from workbook.scoring import _compile

    scenarios, _ = load_all()
    checked = 0
    for scenario in scenarios.values():
        compiled = _compile(scenario)
        answers = " ".join(spec.reference_answer for spec in scenario.step_specs().values())
        searched = analyse(answers)  # one text searched by every set in turn, as scoring does: they share a prefix table
        PatternSet(compiled.misplaced.patterns).search(searched)  # and first by a set with a table of its own
        for step_id, pattern_set in [*compiled.pattern_sets.items(), ("misplaced", compiled.misplaced)]:
            found = pattern_set.search(searched)
            alone = analyse(answers)  # a separate text, so no look-up cached by the search is reused
            for pattern in pattern_set.patterns:
                assert found.get(pattern, {}) == find_spans(alone, pattern), (scenario.id, step_id, pattern.source)
            checked += len(found)
    assert checked > 100  # the references match plenty of patterns: the comparison is not vacuous


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("Use a cache, e.g. Redis. Then measure.", ["Use a cache, e.g. Redis", "Then measure"]),
        ("Tools, etc... all of them", ["Tools, etc... all of them"]),
        ("Done?! Next step", ["Done", "Next step"]),
        ("Version 2.5 ships. Later", ["Version 2.5 ships", "Later"]),
    ],
)
def test_punctuation_runs_cut_once_and_abbreviations_do_not_cut(text, segments):
    assert [s.text for s in analyse(text).segments] == segments


def test_positions_find_equal_strings_not_only_identical_ones():
    text = analyse("The rate is fine. Rates vary.")
    assert text.positions("".join(["ra", "te"])) == text.positions("rate") == [1, 4]


@pytest.mark.parametrize(
    "text",
    [
        "", "   \n\n", "SYSTEM: ok.\n" * 20, "e.g. this; that!! and 3.5 or 3.\n4 items\n- bullet\n* star\n1. one\nkey: value",
        "Refunds über 50 € — возврат 退款 ✓, İstanbul ſ K ΑΣ. The agent’s reply; don't.", "a.b,c;d!e?f\tg|h-i*j#k>l•m", "$5 5% £3 €4 1,000.50",
    ],
)
def test_stems_are_the_keys_of_the_analysed_text(text):
    assert stems(text) == analyse(text).keys


def test_stems_agree_with_analyse_on_every_shipped_scenario_text():
    from workbook.scenario import load_all

    scenarios, _ = load_all()
    for scenario in scenarios.values():
        parts = [scenario.brief, scenario.summary, *(c.description for spec in scenario.step_specs().values() for c in spec.criteria)]
        parts += [spec.reference_answer for spec in scenario.step_specs().values()]
        for part in parts:
            assert stems(part) == analyse(part).keys, part[:80]


def _walk_every_start(text, alternative) -> list[tuple[int, int]]:
    """The phrase walked from every position of its first word: what the rarest-word filter must agree with."""
    from workbook.matching import GAP_WORDS, _is_at

    first, *rest = alternative.keys
    spans = []
    for start in text.positions(first):
        position = start
        for key in rest:
            if position + 1 < len(text.words) and _is_at(text, position + 1, key):
                position += 1
            elif position + 2 < len(text.words) and text.words[position + 1] in GAP_WORDS and _is_at(text, position + 2, key):
                position += 2
            else:
                break
        else:
            spans.append((start, position + 1))
    return spans


_PHRASE_WORDS = ["the", "model", "it", "off", "switch", "3", "rate*", "{num}", "them", "rated"]


# Common first words and gap words, rarer later words: the filter has something to drop.
@given(st.lists(st.sampled_from(["the"] * 4 + ["it"] * 3 + ["model", "off", "switch", "3", "rates", "rated", "them", "a", "."]), min_size=20, max_size=80),
       st.lists(st.sampled_from(_PHRASE_WORDS), min_size=2, max_size=4))
@example(["the"] * 5 + ["it", "model"], ["the", "model"])
@settings(max_examples=400, deadline=None)
def test_phrases_are_found_from_their_rarest_word_as_from_every_first_word(words, phrase):
    from workbook.matching import Alternative, _compile_word, _find_alternative

    text = analyse(" ".join(words))
    alternative = Alternative(tuple(_compile_word(w, "test") for w in phrase))
    assert _find_alternative(text, alternative) == _walk_every_start(text, alternative)
