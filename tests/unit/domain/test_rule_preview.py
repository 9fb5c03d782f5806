"""The plain-language preview of notification rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.rule_preview import CHANNEL_WORDS, RuleStep, delay_text, preview, urgency_preview


def test_the_issue_s_example() -> None:
    steps = [RuleStep("high", "voice", 5), RuleStep("high", "sms", 0), RuleStep("low", "email", 0)]
    assert preview(steps, "dana@example.com") == [
        "High urgency: SMS at once, voice call after 5 min",
        "Low urgency: email at once",
    ]


def test_no_rules_says_the_account_email_is_sent_as_the_engine_does() -> None:
    assert urgency_preview("low", [RuleStep("high", "sms", 0)], "dana@example.com") == (
        "Low urgency: no rules, so one email to dana@example.com at once"
    )


def test_delays_in_hours_and_minutes() -> None:
    assert [delay_text(m) for m in (0, 1, 59, 60, 90, 1440)] == [
        "at once",
        "after 1 min",
        "after 59 min",
        "after 1 h",
        "after 1 h 30 min",
        "after 24 h",
    ]


@given(st.integers(min_value=1, max_value=24 * 60))
def test_a_delay_reads_back_as_the_same_minutes(minutes: int) -> None:
    words = delay_text(minutes).removeprefix("after ").split()
    total = 0
    for number, unit in zip(words[::2], words[1::2], strict=True):
        total += int(number) * (60 if unit == "h" else 1)
    assert total == minutes


steps = st.lists(
    st.builds(
        RuleStep,
        urgency=st.sampled_from(["high", "low"]),
        channel=st.sampled_from(sorted(CHANNEL_WORDS)),
        delay_minutes=st.integers(min_value=0, max_value=24 * 60),
    ),
    max_size=8,
)


@given(steps)
def test_every_rule_appears_once_soonest_first(rules: list[RuleStep]) -> None:
    high, low = preview(rules, "dana@example.com")
    for line, urgency in ((high, "high"), (low, "low")):
        mine = sorted((r for r in rules if r.urgency == urgency), key=lambda r: r.delay_minutes)
        if not mine:
            assert line.endswith("no rules, so one email to dana@example.com at once")
            continue
        parts = line.split(": ", 1)[1].split(", ")
        assert len(parts) == len(mine)
        assert [p for p in parts] == [
            f"{CHANNEL_WORDS[r.channel]} {delay_text(r.delay_minutes)}"
            for r in sorted(mine, key=lambda r: (r.delay_minutes, r.channel))
        ]
