"""The New eval set dialog: from the Data page's chosen prompts or from a file, with a grader
spec; a bad spec or a taken name says why; the set's prompts leave training snapshots."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.evaluation.evalsets import eval_items, eval_prompt_ids, list_eval_sets
from ui.context import AppContext
from ui.dialogs.eval_set_dialog import EvalSetDialog
from ui.dialogs.generate_dialog import PromptScope

__all__ = ["context"]


def _dialog(qtbot: QtBot, context: AppContext, ids: list[int]) -> EvalSetDialog:
    dialog = EvalSetDialog(context, [PromptScope("Selected prompts", lambda _: ids)])
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_from_selected_prompts_with_a_grader(context: AppContext, store: Store,
                                             qtbot: QtBot) -> None:
    ids = [store.add_prompt(f"question {i}") for i in range(3)]
    dialog = _dialog(qtbot, context, ids[:2])
    dialog.name.setText("picked")
    dialog.grader.setCurrentText("regex:^Answer:")
    assert dialog.source_group.checkedId() == 0
    with qtbot.waitSignal(context.changed, timeout=5000):
        dialog.create_button.click()
    assert "“picked”: 2 prompts" in dialog.message.text()
    (made,) = list_eval_sets(store)
    assert (made.name, made.grader, made.size) == ("picked", "regex:^Answer:", 2)
    assert eval_prompt_ids(store) == set(ids[:2])
    dialog.create_button.click()  # the same name again
    qtbot.waitUntil(lambda: "exists already" in dialog.message.text(), timeout=5000)


def test_from_a_file_and_a_bad_spec(context: AppContext, store: Store, tmp_path: Path,
                                    qtbot: QtBot) -> None:
    path = tmp_path / "gsm.jsonl"
    path.write_text(json.dumps({"question": "2+2?", "answer": "#### 4"}) + "\n")
    dialog = _dialog(qtbot, context, [])
    dialog.name.setText("gsm")
    dialog.file.setText(str(path))
    assert dialog.source_group.checkedId() == 1
    dialog.grader.setCurrentText("nonsense")
    dialog.create_button.click()
    qtbot.waitUntil(lambda: "unknown grader spec" in dialog.message.text(), timeout=5000)
    dialog.grader.setCurrentIndex(dialog.grader.findText("numeric"))
    assert "reference" in dialog.meaning.text()
    with qtbot.waitSignal(context.changed, timeout=5000):
        dialog.create_button.click()
    (made,) = list_eval_sets(store)
    assert [ref for _, _, ref in eval_items(store, made.id)] == ["#### 4"]
