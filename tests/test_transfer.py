"""Download and upload of a learner's work (workbook.transfer), through a real form and real files.

The round trip is the one a Binder user makes: fill the form, download, lose the
session (a new, empty work folder), upload, and find every step back.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

import workbook
from workbook.answers import load_answers
from workbook.form import PracticeForm
from workbook.transfer import restore_into_folder, transfer_panel, work_panel

SCENARIOS, _ = workbook.load_all()
FIRST, SECOND = sorted(SCENARIOS)[:2]
TEXTS = {
    "user_intent": "Support agents at a 40-person team; success is 30% fewer escalations <b>bold</b>.",
    "safety_checks": "If a refund is over $200, a human approves it before it is sent.",
}


@pytest.fixture(autouse=True)
def _no_display(monkeypatch):
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: None)


def form_in(folder: Path, scenario: str = FIRST) -> PracticeForm:
    return PracticeForm(scenario, work_dir=folder, autosave_delay=0.01)


def filled(folder: Path) -> PracticeForm:
    form = form_in(folder)
    for step, text in TEXTS.items():
        form.panels[step].value = text
    assert form.flush()
    return form


def link_payload(html: str) -> tuple[str, bytes]:
    found = re.search(r'download="([^"]+)" href="data:[^;]+;base64,([A-Za-z0-9+/=]+)"', html)
    assert found, html
    return found.group(1), base64.b64decode(found.group(2))


def test_round_trip_through_the_download_link_and_the_upload(tmp_path):
    before = filled(tmp_path / "session-1")
    panel = transfer_panel(before, display=False)
    panel.answers_button.click()
    name, payload = link_payload(panel.link.value)
    assert name == f"{FIRST}.answers.json"

    fresh = form_in(tmp_path / "session-2")  # Binder ended: a new session, an empty folder
    assert fresh.store.texts["user_intent"] == ""
    upload = transfer_panel(fresh, display=False)
    upload.upload.value = ({"name": name, "type": "application/json", "size": len(payload),
                            "content": memoryview(payload), "last_modified": datetime.now(timezone.utc)},)
    assert "Restored 2 of 7 steps" in upload.status.value
    assert fresh.store.texts["user_intent"] == TEXTS["user_intent"]
    assert fresh.panel("safety_checks").text.value == TEXTS["safety_checks"]  # the form shows it, too
    on_disk = load_answers(fresh.answers_path)
    assert on_disk.text("user_intent") == TEXTS["user_intent"] and on_disk.text("safety_checks") == TEXTS["safety_checks"]


def test_a_corrupt_upload_is_refused_and_the_current_answers_are_kept(tmp_path):
    form = filled(tmp_path)
    saved = form.answers_path.read_bytes()
    panel = transfer_panel(form, display=False)
    result = panel.restore(b'{"scenario": "' + FIRST.encode() + b'", "answers": {"user_intent": ', "mine.json")
    assert not result.ok
    assert "invalid JSON at line 1" in result.message and "mine.json" in result.message and "unchanged" in result.message
    assert "Not restored" in panel.status.value
    assert form.answers_path.read_bytes() == saved
    assert form.store.texts["user_intent"] == TEXTS["user_intent"]
    assert sorted(p.name for p in tmp_path.iterdir() if "replaced" in p.name) == []


@pytest.mark.parametrize("payload, reason", [
    (json.dumps({"scenario": SECOND, "answers": {"user_intent": "other scenario"}}).encode(), f"'{SECOND}', not '{FIRST}'"),
    (json.dumps({"scenario": FIRST, "answers": {"no_such_step": "x"}}).encode(), "answers.no_such_step"),
    (b"\xff\xfe not utf-8", "not UTF-8"),
    (b"PK\x03\x04 broken zip", "not a readable zip"),
    (b" " * (3 * 1024 * 1024), "larger than 2 MB"),
])
def test_wrong_uploads_are_refused_with_a_reason(tmp_path, payload, reason):
    form = filled(tmp_path)
    result = transfer_panel(form, display=False).restore(payload, "upload.json")
    assert not result.ok and reason in result.message, result.message
    assert form.store.texts == load_answers(form.answers_path).answers | {s: "" for s in form.store.texts if s not in TEXTS}


def test_an_accepted_upload_keeps_the_previous_answers_aside(tmp_path):
    form = filled(tmp_path)
    other = json.dumps({"scenario": FIRST, "answers": {"user_intent": "A different plan."}}).encode()
    result = transfer_panel(form, display=False).restore(other, "older.json")
    assert result.ok, result.message
    kept = [p for p in tmp_path.iterdir() if ".replaced-" in p.name]
    assert len(kept) == 1 and load_answers(kept[0]).text("safety_checks") == TEXTS["safety_checks"]
    assert load_answers(form.answers_path).text("user_intent") == "A different plan."
    assert load_answers(form.answers_path).text("safety_checks") == ""


def test_the_work_folder_zip_restores_into_an_empty_folder(tmp_path):
    form = filled(tmp_path / "my-work")
    form.export_design()
    (tmp_path / "my-work" / ".hidden.answers.json.lock").write_text("")
    panel = work_panel(work_dir=tmp_path / "my-work", display=False)
    panel.zip_button.click()
    name, payload = link_payload(panel.link.value)
    assert name.startswith("my-work-") and name.endswith(".zip")
    members = zipfile.ZipFile(io.BytesIO(payload)).namelist()
    assert f"my-work/{FIRST}.answers.json" in members and not any(m.endswith(".lock") for m in members)
    assert any(m.endswith("-design.html") for m in members)

    fresh = tmp_path / "next-session" / "my-work"
    fresh.mkdir(parents=True)
    result = restore_into_folder(fresh, payload, name)
    assert result.ok, result.message
    assert load_answers(fresh / f"{FIRST}.answers.json").text("safety_checks") == TEXTS["safety_checks"]
    refused = restore_into_folder(fresh, json.dumps({"scenario": "no-such-scenario", "answers": {}}).encode(), "x.json")
    assert not refused.ok and "no-such-scenario" in refused.message


def test_learner_text_in_a_file_name_is_escaped(tmp_path):
    form = filled(tmp_path)
    panel = transfer_panel(form, display=False)
    panel.restore(b"not json", '<img src=x onerror=alert(1)>.json')
    assert "<img" not in panel.status.value and "&lt;img" in panel.status.value
