"""Hostile review 30: the console's sign-in form against the accounts it signs in to, the
API's 404 for an unknown id, a CSRF cookie of other characters, a model bundle's signature
file, and the Synapse module's numbers.

Each test failed on the code before its fix. All data is synthetic."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from queue_helpers import occupy
from serve_helpers import CHEAP_HASHER, PASSWORD, config, csrf_token, sign_in

import riskscore as rs
from riskscore.cli import main
from riskscore.integrations._synapse_config import SynapseConfigError
from riskscore.integrations._synapse_config import parse as parse_synapse_config
from riskscore.model.bundle import KEY_VARIABLE, SIGNATURE
from riskscore.moderation import QueueError, ReviewQueue
from riskscore.moderation.cases import MAX_NAME_CHARS
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import MAX_PASSWORD_CHARS, ModeratorStore

LONG_NAME = "m" * MAX_NAME_CHARS  # the longest name an account can have


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture
def console(tmp_path: Path, model: rs.RiskModel) -> Iterator[TestClient]:
    cfg = config(tmp_path, model)
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add(LONG_NAME, "lead", PASSWORD)
    store.add("mod-longest-password", "moderator", "p" * MAX_PASSWORD_CHARS)
    store.close()
    with TestClient(create_app(cfg)) as client:
        yield client


def test_a_password_the_sign_in_form_cannot_take_is_refused_when_the_account_is_made(
    tmp_path: Path, console: TestClient
) -> None:
    """Was: an account took a password of any length, and the sign-in form cut what was
    typed to 1024 characters before checking it: an account given a longer password
    (a password manager's, say) could never sign in, and nothing said why."""
    store = ModeratorStore(tmp_path / "other.sqlite", hasher=CHEAP_HASHER)
    with pytest.raises(QueueError, match=f"1025 characters; at most {MAX_PASSWORD_CHARS}") as info:
        store.add("mod-2", "moderator", "p" * (MAX_PASSWORD_CHARS + 1))
    assert "ppp" not in str(info.value)  # the password is never shown
    assert store.get("mod-2") is None
    store.close()
    # the longest password accepted signs in, and one character more typed does not
    assert sign_in(console, "mod-longest-password", "p" * (MAX_PASSWORD_CHARS + 1)) == 401
    assert sign_in(console, "mod-longest-password", "p" * MAX_PASSWORD_CHARS) == 303


def test_a_name_longer_than_any_account_is_not_signed_in_as_its_first_characters(
    console: TestClient,
) -> None:
    """Was: the sign-in form cut the name typed to 128 characters, so a name of 129
    characters or more signed in, with the right password, as the account named by its
    first 128: two names, one account (the session and the access log named the other)."""
    assert sign_in(console, LONG_NAME + "-someone-else") == 401
    assert console.get("/console/queue", follow_redirects=False).status_code == 303
    assert sign_in(console, LONG_NAME) == 303
    assert console.get("/console/queue").status_code == 200


@pytest.mark.parametrize("nonce", ["caf\u00e9", "\u00ff" * 43])
def test_a_csrf_cookie_of_characters_beyond_ascii_is_a_refused_form_not_a_500(
    tmp_path: Path, model: rs.RiskModel, nonce: str
) -> None:
    """Was: the form's token was checked against the CSRF cookie with
    :func:`secrets.compare_digest` on text, which raises ``TypeError`` for text that is
    not ASCII: a client that sent a valid token beside a cookie of other characters (a
    header is read as Latin-1) got a 500 from every form, the sign-in form included."""
    with TestClient(create_app(config(tmp_path, model)), raise_server_exceptions=False) as c:
        token = csrf_token(c.get("/console/signin").text)
        r = c.post(
            "/console/signin",
            content=f"name=mod-1&password={PASSWORD}&csrf_token={token}".encode(),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "cookie": f"riskscore_csrf={nonce}".encode("latin-1"),  # type: ignore[dict-item]
            },
        )
    assert r.status_code == 403
    assert "Form refused" in r.text


@pytest.mark.parametrize("conversation_id", ["c" * 12_000, "see you at the park after school"])
def test_an_unknown_conversation_id_in_the_url_is_quoted_as_errors_quote_ids(
    console: TestClient, conversation_id: str
) -> None:
    """Was: ``GET /v1/conversations/{id}`` answered 404 with the id of the URL copied whole
    into the message (12 kB of it; a sentence where an id belongs, which may be message
    content, too), where every other error quotes a value cut short and a sentence by its
    length only (:func:`riskscore.io.raw.show`)."""
    r = console.get(f"/v1/conversations/{conversation_id}")
    detail = r.json()["detail"]
    assert len(detail) < 200
    assert "park" not in detail
    if len(conversation_id) > 770:  # no id an event can have (review 86): 422, not 404
        assert r.status_code == 422
        assert "is longer than 770 characters" in detail
    elif " " in conversation_id:  # a sentence (review 86): refused, and kept out of the log
        assert r.status_code == 422
        assert "reads as a sentence" in detail
    else:
        assert r.status_code == 404
        assert "is not live in this scorer" in detail


SIGNING_KEY = "hostile-review-30-signing-key-0123456789"


@pytest.mark.parametrize(
    "signature", [b"\xff" * 64, "\u00e9".encode() * 32, "\u0661".encode() * 32]
)
def test_a_signature_file_of_other_characters_is_a_signature_that_does_not_match(
    tmp_path: Path,
    model: rs.RiskModel,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    signature: bytes,
) -> None:
    """Was: ``manifest.sig`` was decoded with invalid bytes replaced and compared as text
    by :func:`hmac.compare_digest`, which raises ``TypeError`` for text that is not ASCII:
    a signature file of any other byte gave a traceback (``riskscore score --model``
    too), not the :class:`ModelIntegrityError` of a signature that does not match."""
    monkeypatch.setenv(KEY_VARIABLE, SIGNING_KEY)
    bundle = rs.save_model(model, tmp_path / "signed")
    (bundle / SIGNATURE).write_bytes(signature)
    with pytest.raises(rs.ModelIntegrityError, match="does not match the manifest"):
        rs.load_model(bundle)
    events = tmp_path / "events.csv"
    rs.write_messages(rs.synthetic.generate(20, seed=30).messages, events)
    argv = ["score", str(events), "--model", str(bundle), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{SIGNATURE} does not match the manifest" in err


@pytest.mark.parametrize(
    "key", ["batch_size", "idle_expiry_s", "checkpoint_interval_s", "max_queue"]
)
def test_a_synapse_number_too_large_for_a_float_is_a_config_error_naming_it(
    tmp_path: Path, key: str
) -> None:
    """Was: the Synapse module's numbers without an upper bound were converted with
    ``float()`` after their range check passed, so an integer of 400 digits (YAML reads
    one as given) raised ``OverflowError`` at start-up instead of the configuration error
    naming the key; a bounded one was refused with all 400 digits in the message."""
    raw = {"state_dir": str(tmp_path), "alerts": {"jsonl": str(tmp_path / "a.jsonl")}}
    with pytest.raises(SynapseConfigError, match=f"^{key}: expected") as info:
        parse_synapse_config({**raw, key: 10**400})
    assert len(str(info.value)) < 200


T0 = 1_750_000_000


def _room_alert(conversation_id: object, adult: object, child: object) -> Alert:
    return Alert(conversation_id, adult, child, 12.0, "under 13", 0.9, Tier.URGENT)


def test_an_alert_is_never_merged_into_the_open_alert_of_other_accounts(tmp_path: Path) -> None:
    """Was: the queue merged a new alert into the open alert of its conversation id
    whatever its accounts: the pair ``g|a|b`` of room ``g`` in one run and a conversation
    named ``g|a|b`` between two other accounts in the next (each file refused alone only
    what it holds) became one item, adult ``a``'s: adult ``x`` was in no case, and its
    alert counted as a signal of ``a``'s. The same two accounts, in either role, still
    update their open alert."""
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        first = q.add_alert(_room_alert("g|a|b", "a", "b"), at=T0)
        assert q.add_alert(_room_alert("g|a|b", "b", "a"), at=T0 + 1) == first  # roles swapped
        with pytest.raises(  # the item takes the swapped alert's roles: b is its adult now
            QueueError, match=r"conversation g\|a\|b between x and y: .* between b and a;"
        ):
            q.add_alert(_room_alert("g|a|b", "x", "y"), at=T0 + 2)
        (item,) = q.items()
        assert (item.adult_id, item.n_signals) == ("b", 2)
        assert q.case("x") is None


def test_a_run_whose_alert_would_merge_into_another_pairs_item_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore stream --queue`` queued it into the other pair's item without a
    word (see above): here the queue holds an open alert of conversation 38 between two
    other accounts when the stream's conversation 38 alerts. The refusal is one line naming
    the conversation, and the stream goes on (it stopped with exit status 2 until
    ``tests/test_hostileserve.py::test_stream_goes_on_past_an_alert_the_queue_refuses``)."""
    events = list(rs.synthetic.generate(40, prevalence=0.25, seed=30).messages.iter_events())
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as q:  # conversation 38 is between 1000007 and 1000008
        occupy(q, 38, 1000007, 1000008)
    text = "".join(json.dumps(e) + "\n" for e in events)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(["stream", "--queue", str(db)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    refused = [line for line in err.splitlines() if "conversation 38" in line]
    assert len(refused) in (1, 2), err  # its review alert, and its urgent one if it escalates
    with ReviewQueue(db) as q:  # never merged into the other pair's item
        held = [(i.adult_id, i.n_signals) for i in q.items() if i.conversation_id == 38]
        assert held == [("someone", 1)]


def test_the_api_names_an_alert_the_queue_refuses_to_merge_not_a_500(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the service queued the alert into the other pair's item (see above); with the
    queue refusing it, the refusal must come back as the event's, with the others queued."""
    events = list(rs.synthetic.generate(40, prevalence=0.25, seed=30).messages.iter_events())
    cfg = config(tmp_path, model)
    with ReviewQueue(cfg.db) as q:  # conversation 38 is between 1000007 and 1000008
        occupy(q, 38, 1000007, 1000008)
    with TestClient(create_app(cfg), raise_server_exceptions=False) as client:
        r = client.post("/v1/events", json=events[:1000])
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["accepted"] == 1000
    assert 1 <= len(body["refused"]) <= 2  # review, and urgent if it escalates
    for refused in body["refused"]:
        assert "conversation 38" in refused["message"]
        assert events[refused["index"]]["conversation_id"] == 38
    with ReviewQueue(cfg.db) as q:
        items = q.items()
    assert [(i.adult_id, i.n_signals) for i in items if i.conversation_id == 38] == [("someone", 1)]
    assert len(items) > 1  # the batch's other alerts were queued
