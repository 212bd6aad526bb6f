"""Moderator review 53: a CyberTipline draft says where the contact went, in order and truly.

Was: ``Private conversations on the platform; most private channel reached: external.``
(23 of the committed drafts): ``external`` is a link or handle to another app, off the
platform, and a case whose alerts stayed on public or group channels read "private
conversations" too; several channels were listed alphabetically (``ephemeral, group``)
under one "most private channel reached". Each test failed before the fix.
"""

from __future__ import annotations

from pathlib import Path

from riskscore.moderation import ReviewQueue
from riskscore.policy import Alert, Tier
from riskscore.regulatory import cybertipline_drafts, decided_cases

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC: queue items are dated within the events' range


def _chat_info(tmp_path: Path, channels: tuple[str, ...]) -> str:
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        for i, channel in enumerate(channels):
            alert = Alert(
                f"c{i}", "adult", f"kid-{i}", 12.0, "under 13", 0.9, Tier.URGENT,
                max_channel=channel,
            )  # fmt: skip
            q.add_alert(alert, at=T0 + 100 + i)
        token = q.case("adult", now=T0 + 200).token  # type: ignore[union-attr]
        q.decide("adult", "escalated", moderator="m", at=T0 + 300, token=token)
        [draft] = cybertipline_drafts(decided_cases(q.items()), platform="demo")
    info = draft["report"]["internetDetails"][0]["chatImIncident"]["additionalInfo"]
    assert isinstance(info, str)
    return info


def test_external_is_said_to_be_off_the_platform(tmp_path: Path) -> None:
    info = _chat_info(tmp_path, ("external",))
    assert "on the platform" not in info.replace("off the platform", "")
    assert info == (
        "Most private channel each alerted conversation reached: external (a link or handle "
        "to another app: contact moving off the platform)."
    )


def test_public_and_group_are_not_called_private(tmp_path: Path) -> None:
    info = _chat_info(tmp_path, ("group", "public"))
    assert "Private conversations" not in info
    assert info == (
        "Most private channel each alerted conversation reached: group (a group room of the "
        "platform), public (a public space of the platform)."
    )


def test_channels_are_listed_most_private_first(tmp_path: Path) -> None:
    info = _chat_info(tmp_path, ("group", "ephemeral", "direct"))
    assert info.index("ephemeral") < info.index("direct") < info.index("group")
