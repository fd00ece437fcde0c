"""The answer store without widgets: two kernels on one answers file, claims and follow-ups kept."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import workbook
from workbook.answers import FollowUp, load_answers
from workbook.store import AnswerStore

SCENARIO = sorted(workbook.load_all()[0])[0]
ROUNDS = 25

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from workbook.store import AnswerStore

    path, name, rounds, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    store = AnswerStore(path, {scenario!r}, autosave_delay=60)
    Path(str(go) + "." + name).touch()  # built: a store that loaded the other's save has seen it, not lost it
    while not go.exists():  # both writers start saving together
        time.sleep(0.005)
    done = []
    for i in range(rounds):
        done.append(str(i))
        store.texts["user_intent"] = name + " " + " ".join(done)  # each save holds every earlier one
        if store.save():
            print(i, flush=True)  # reported done
    """
).format(scenario=SCENARIO)


def _texts_on_disk(folder: Path) -> list[str]:
    """The user_intent text of the answers file and of every copy kept aside."""
    texts = []
    for path in sorted(folder.glob("shared*.json")):
        texts.append(json.loads(path.read_text())["answers"].get("user_intent", ""))
    return texts


def test_two_processes_on_one_file_lose_no_save_reported_done(tmp_path):
    path = tmp_path / "shared.answers.json"
    go = tmp_path / "go"
    writers = {
        name: subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(ROUNDS), str(go)], stdout=subprocess.PIPE, text=True)
        for name in ("alpha", "beta")
    }
    deadline = time.monotonic() + 60
    while not all(Path(f"{go}.{name}").exists() for name in writers) and time.monotonic() < deadline:
        time.sleep(0.01)  # both stores built before either saves, so each starts from the same file
    go.touch()
    reported = {}
    for name, process in writers.items():
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        reported[name] = [int(line) for line in out.split()]
    texts = _texts_on_disk(tmp_path)
    for name, saves in reported.items():
        assert saves == list(range(ROUNDS)), f"{name} reported a failed save"
        # the writer's highest save kept on disk; each save contains all of the writer's earlier ones
        kept = [len(t.split()) - 2 for t in texts if t.split()[:1] == [name]]
        assert kept and max(kept) == ROUNDS - 1, f"{name}'s last save is neither in the file nor kept aside"
    kept_aside = list(tmp_path.glob("shared.answers.changed-*.json"))
    assert kept_aside, "two writers interleaved without any copy kept aside"
    assert not list(tmp_path.glob(".shared*.tmp"))


def test_claims_and_followups_are_kept_when_saving(tmp_path):
    path = tmp_path / "a.answers.json"
    path.write_text(json.dumps({
        "scenario": SCENARIO, "answers": {"user_intent": "Contract managers need a summary. It cites clauses."},
        "claims": [{"step": "user_intent", "criterion": "x", "sentence": "It cites clauses."}],
        "followups": {"user_intent": [{"question": "Who else?", "reply": "Legal ops."}]},
    }))
    store = AnswerStore(path, autosave_delay=60)
    store.set_text("user_intent", "Contract managers need a one-page summary. It cites clauses.")
    store.add_followup("user_intent", "How do you measure it?", "Time to first review drops by half.")
    assert store.save()
    loaded = load_answers(path)
    assert [c.sentence for c in loaded.claims] == ["It cites clauses."]
    assert loaded.followups["user_intent"] == [FollowUp("Who else?", "Legal ops."), FollowUp("How do you measure it?", "Time to first review drops by half.")]
    graded = store.graded_answers().text("user_intent")
    assert graded.startswith("Contract managers need a one-page summary.") and graded.endswith("Time to first review drops by half.")
    assert "Time to first" not in store.answers().text("user_intent")  # the answer itself is unchanged
    store.close()
