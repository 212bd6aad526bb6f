"""Column names of message content in more languages are refused: Nordic, Polish, Turkish,
Indonesian, Russian, Ukrainian, Arabic, Hindi, and Chinese, Japanese and Korean, whose words
are found anywhere in a name (those scripts write no spaces between words). All data is
synthetic."""

from __future__ import annotations

import pyarrow as pa
import pytest

import riskscore as rs
from riskscore.io.content_names import is_content_column


@pytest.mark.parametrize(
    "name",
    ["текст", "Текст_сообщения", "повідомлення", "Wiadomość", "tresc", "içerik", "mesaj",
     "meddelande", "innhold", "pesan", "نص", "محتوى_الرسالة", "संदेश", "消息内容", "訊息",
     "本文", "メッセージ本文", "메시지", "본문_텍스트", "t\u0435kst"],
)  # fmt: skip
def test_content_words_of_more_languages_are_refused(name: str) -> None:
    assert is_content_column(name)


@pytest.mark.parametrize(
    "name", ["время_отправки", "kanal", "tarih", "platform", "送信者", "채널", "context"]
)
def test_metadata_names_in_those_languages_are_not_content(name: str) -> None:
    assert not is_content_column(name)


@pytest.mark.parametrize("name", ["消息内容", "сообщение"])
def test_a_table_with_such_a_column_is_refused_before_it_is_read(name: str) -> None:
    table = pa.table(
        {
            "conversation_id": [1],
            "timestamp": [1_700_000_000],
            "sender_id": [1],
            "recipient_id": [2],
            "channel": ["direct"],
            name: ["synthetic"],
        }
    )
    with pytest.raises(rs.SchemaError, match="riskscore reads no message content"):
        rs.read_messages(table)
