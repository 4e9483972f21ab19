"""Retake the README's screenshots from a real window with the real small model.

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/make_screenshots.py [--no-train]

A fresh data folder gets a few prompts and SmolLM2-135M-Instruct (the package registry's Q4_1
GGUF and its fp32 conversion, see tests/real_model.py), registered as the first-start dialog
does. SmolLM2 writes two candidates per prompt through the generate job, a few are labeled,
a short SFT run trains a LoRA adapter on SmolLM2 (``--no-train`` skips it) and the adapter is
exported to GGUF, so Compare pits the base against the tuned model. Then the app's window is
shown at 1280x800 and each page is grabbed from the screen into docs/screenshots/.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.candidates.generation import GenerationConfig, create_job  # noqa: E402
from studio.data.snapshots import export_snapshot  # noqa: E402
from studio.db.store import Store  # noqa: E402
from studio.jobs.launch import log_tail, run_foreground  # noqa: E402
from studio.paths import DataPaths  # noqa: E402
from studio.registry import models  # noqa: E402
from studio.registry.export_config import create_export_job  # noqa: E402
from studio.registry.gguf_import import gguf_origin  # noqa: E402
from studio.registry.starter import GGUF_NAME, STARTER_NAME  # noqa: E402
from studio.training.config import TrainConfig  # noqa: E402
from studio.training.runs import create_run, get_run, launch_command  # noqa: E402
from tests.real_model import smollm2_gguf, smollm2_hf  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PROMPTS = [
    "Write a haiku about the sea.",
    "Explain what a Python list comprehension is, with a short example.",
    "What is the capital of France?",
    "Give three tips for sleeping better.",
    "Summarise why the sky is blue in two sentences.",
    "Write a polite email declining a meeting.",
    "Name three primary colours.",
    "What is 12 times 7?",
]
COMPARE_PROMPT = "Give three tips for sleeping better."
log = logging.getLogger("screenshots")


def build_data(root: Path, train: bool, export_gguf: bool = True) -> Path:
    """Each step runs only when its result is missing, so a kept folder can be finished later
    (e.g. the training once the machine is less busy)."""
    paths = DataPaths.at(root)
    store = Store.open(paths.db)
    if not store.counts()["prompts"]:
        for text in PROMPTS:
            store.add_prompt(text, tags=["demo"], source="screenshots")
    ids = [row["id"] for row in store.db.query("SELECT id FROM prompts ORDER BY id")]
    folder = smollm2_hf()
    if not models.list_models(store, "base"):
        base = models.add_base_model(store, folder, name=STARTER_NAME, meta=gguf_origin(folder))
        # In the data folder, as the first-start dialog keeps it (not the tests' cache).
        local = paths.models / "starter" / GGUF_NAME
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(smollm2_gguf(), local)
        models.add_gguf(store, local, base.id, "Q4_1", name=f"{STARTER_NAME} · Q4_1")
    gguf = models.list_models(store, "gguf")[0]
    counts = store.counts()
    store.close()
    unlabeled = not counts["labels"]
    if counts["responses"] < 2 * len(ids):
        generate(paths, gguf, ids)  # writes only the candidates still missing
    if unlabeled:
        label(paths, ids)
    store = Store.open(paths.db)
    adapters = models.list_models(store, "adapter")
    exported = len(models.list_models(store, "gguf")) > 1
    store.close()
    if train and not adapters:
        adapters = [train_sft(paths, str(folder))]
    if train and export_gguf and not exported:
        export(paths, adapters[0])
    return paths.root


def _run(module: str, job: Path) -> None:
    last = run_foreground(module, job, lambda event: log.info("%s: %s", module,
                                                              event.get("message", event.event)))
    if last is None or last.event != "finished":
        raise SystemExit(f"{module} did not finish: {last}\n{log_tail(job, module, 30)}")


def generate(paths: DataPaths, gguf: models.ModelEntry, ids: list[int]) -> None:
    log.info("SmolLM2 writes two candidates per prompt")
    config = GenerationConfig(model_path=gguf.path, model_name=gguf.name, prompt_ids=ids, n=2,
                              max_tokens=120, threads=2)
    _run("generate", create_job(paths.root / "jobs", config, db=paths.db))


def label(paths: DataPaths, ids: list[int]) -> None:
    """Thumbs on the first answers of most prompts and one pairwise choice, as a person would:
    the longer, complete answer up."""
    store = Store.open(paths.db)
    for prompt_id in ids[:6]:
        answers = sorted(store.responses_for(prompt_id), key=lambda r: -len(r.text))
        if len(answers) >= 2:
            store.label_thumb(answers[0].id, "up", "you")
            store.label_thumb(answers[-1].id, "down", "you", reason="cut short")
    first = store.responses_for(ids[6])
    if len(first) >= 2:
        store.label_pair(first[0].id, first[1].id, "left", "you")
    store.close()


def train_sft(paths: DataPaths, model: str) -> models.ModelEntry:
    log.info("a short SFT run on SmolLM2 (LoRA r8, 4 steps)")
    store = Store.open(paths.db)
    snapshot = export_snapshot(store, "sft", paths.snapshots / "sft-1", eval_fraction=0.2)
    config = TrainConfig.for_method("sft", model, "quick", max_steps=4, max_length=128,
                                    batch_size=2, learning_rate=1e-3, eval_steps=2,
                                    save_steps=2)
    run = create_run(store, paths, config, snapshot.path)
    subprocess.run(launch_command(run.run_dir), cwd=ROOT, stdin=subprocess.DEVNULL, check=False,
                   timeout=1800)
    run = get_run(store, run.id)
    if run.status != "completed":
        raise SystemExit(f"the SFT run ended {run.status}: {run.error}")
    adapter = next(m for m in models.list_models(store, "adapter") if m.run_id == run.id)
    store.close()
    return adapter


def export(paths: DataPaths, adapter: models.ModelEntry) -> None:
    log.info("exporting the adapter to GGUF (Q8_0)")
    job = create_export_job(paths.exports, db=paths.db, parent_id=adapter.id,
                            adapter=adapter.path, quants=["Q8_0"])
    _run("export", job)


def shoot(data_dir: Path, settings: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from ui.app import build_window
    from ui.theme import use_theme

    app = QApplication(sys.argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for theme, suffix in (("light", ""), ("dark", "-dark")):
        use_theme(app, theme)
        window = build_window(str(data_dir), str(settings))
        window.context.set_annotator("you")
        window.resize(1280, 800)
        window.show()
        shots = [("Label", "label-page"), ("Data", "data-page")]
        if not suffix:
            shots += [("Train", "train-page"), ("Models", "models-page")]
        for page, name in shots:
            window.show_page(page)
            _settle(2500)
            if name == "models-page":
                _select_first_tuned(window.show_page("Models"))
                _settle(1000)
            _grab(window, OUT / f"{name}{suffix}.png")
        if not suffix:
            window.show_page("Label").set_mode("pair")
            _settle(2500)
            _grab(window, OUT / "label-pairwise.png")
            window.show_page("Label").set_mode("thumb")
            compare(window)
            _grab(window, OUT / "compare-page.png")
        window.close()
        _settle(1500)


def _select_first_tuned(page: Any) -> None:
    for row in page.tree.rows():  # the tree's records, depth first
        if row.text(1).startswith(("gguf", "adapter")) and row.parent is not None:
            page.tree.select_id(row.id)


def compare(window: Any) -> None:
    """Base against tuned (the page's default pair), one question, both replies streamed."""
    page = window.show_page("Compare")
    _settle(2500)
    page.blind.setChecked(False)
    page.new_chat()
    _settle(500)
    page.input.setPlainText(COMPARE_PROMPT)
    page.send()
    for _ in range(240):  # up to two minutes for both replies
        _settle(500)
        if not page._busy():
            break
    _settle(1000)


def _settle(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _grab(window: Any, path: Path) -> None:
    screen = window.screen()
    geometry = window.frameGeometry()
    screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(),
                      geometry.height()).save(str(path))
    log.info("saved %s", path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-train", action="store_true",
                        help="skip the SFT run and the GGUF export (about 3 min on 2 cores)")
    parser.add_argument("--no-export", action="store_true",
                        help="skip the adapter's GGUF export (Compare then shows the base twice)")
    parser.add_argument("--keep", type=Path, help="build the data folder here and keep it")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "data"
        data = build_data(root, not args.no_train, not args.no_export)
        shoot(data, Path(tmp) / "settings.ini")
    return 0


if __name__ == "__main__":
    sys.exit(main())
