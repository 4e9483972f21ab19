"""One launch, timed from inside: the child process of ``bench/bench_startup.py``.

    python bench/startup_probe.py bare|app DATA_DIR [--breakdown]

``bare`` is the baseline: QApplication + an empty QMainWindow titled "Tuning Studio".
``app`` runs the real entry point (``ui.launcher.main(["--data-dir", DATA_DIR])``). An event
filter on the window's QWindow, installed right after ``show()``, notes its first Expose (then
the next turn of the event loop, once Qt has painted it), and the Label page's signals note
the first label ready: an item drawn, or the empty state with its final text.

Prints one JSON object: CLOCK_MONOTONIC times (``time.monotonic()``, shared by every process
on Linux, so the parent subtracts its own launch time), the watched modules already imported
when the window showed, and with ``--breakdown`` the steps of start-up with their times.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

T_MAIN = time.monotonic()  # the interpreter is up and runs this file's first line
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TITLE = "Tuning Studio"
TIMEOUT_MS = 60_000
# Modules the GUI process must not have imported when its window first shows.
WATCHED = ("numpy", "pandas", "pyarrow", "pyqtgraph", "gguf", "jsonschema", "torch",
           "transformers", "trl", "peft", "datasets", "accelerate", "llama_cpp",
           "huggingface_hub", "psutil", "yaml", "sentencepiece")

marks: list[tuple[str, float]] = [("interpreter up", T_MAIN)]


def mark(name: str) -> None:
    marks.append((name, time.monotonic()))


def watched_modules() -> list[str]:
    return sorted(name for name in WATCHED if name in sys.modules)


STEPS = ("install_crash_log", "theme_choice", "follow_system", "install_wheel_guard",
         "AppContext", "MainWindow", "offer_first_start")


def timed(name: str, fn: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        mark(f"{name}: start")
        try:
            return fn(*args, **kwargs)
        finally:
            mark(f"{name}: done")

    return call


def instrument() -> None:
    """--breakdown: note the store's opening, the first store answer and each page built."""
    import ui.app
    import ui.main_window
    from studio.db.store import Store
    from ui.main_window import MainWindow

    for name in STEPS:  # run_app's steps, looked up as module globals when it runs
        if hasattr(ui.app, name):
            setattr(ui.app, name, timed(name, getattr(ui.app, name)))

    open_store = Store.open.__func__  # type: ignore[attr-defined]

    def timed_open(cls: type, *args: Any, **kwargs: Any) -> Any:
        mark("store open: start (worker)")
        try:
            return open_store(cls, *args, **kwargs)
        finally:
            mark("store open: done (worker)")

    if hasattr(ui.main_window, "page_class"):  # lazy pages: the import of a page's module
        ui.main_window.page_class = timed("import the page's module",  # type: ignore[attr-defined]
                                          ui.main_window.page_class)
    Store.open = classmethod(timed_open)  # type: ignore[method-assign, assignment]
    show_counts = MainWindow._show_counts

    def timed_counts(self: MainWindow, counts: dict[str, int]) -> None:
        mark("first store answer on the UI thread (status bar counts)")
        show_counts(self, counts)

    MainWindow._show_counts = timed_counts  # type: ignore[method-assign]
    show_page = MainWindow.show_page

    depth = [0]  # show_page calls itself through the sidebar's signal: time the outer call

    def timed_show_page(self: MainWindow, name: str) -> Any:
        built = name in self.pages
        depth[0] += 1
        if depth[0] == 1:
            mark(f"show_page({name}): start")
        try:
            return show_page(self, name)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                mark(f"show_page({name}): done{'' if built else ' (page built)'}")

    MainWindow.show_page = timed_show_page  # type: ignore[method-assign]


def main() -> int:
    kind, data_dir = sys.argv[1], sys.argv[2]
    breakdown = "--breakdown" in sys.argv[3:]
    if kind == "app":
        import ui.launcher
        from ui.app import run_app  # noqa: F401  (the imports the entry point makes first)

        mark("import ui.app (all module-level imports)")
        if breakdown:
            instrument()
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    mark("import PySide6.QtWidgets")
    app = QApplication(sys.argv[:1])
    mark("QApplication()")
    result: dict[str, Any] = {"kind": kind, "t_main": T_MAIN}

    def finish() -> None:
        result["marks"] = marks if breakdown else []
        print(json.dumps(result), flush=True)
        for widget in app.topLevelWidgets():
            if isinstance(widget, QMainWindow):
                widget.close()
        app.quit()

    def open_other_pages(window: Any) -> None:
        """--breakdown: what each other page costs the first time it is opened."""
        from ui.main_window import PAGES

        for name in PAGES:
            if name not in window.pages:
                window.show_page(name)
                app.processEvents()  # its first paint
                mark(f"{name} page painted")

    def label_ready(page: Any) -> bool:
        if page.body.currentIndex() == 1:
            return True
        return page.empty.title.text() not in ("", "Loading…")

    def watch_label(window: Any) -> None:
        page = window.pages.get("Label")
        if page is None:
            result["error"] = "the first page shown is not the Label page"
            finish()
            return

        def check(*_: object) -> None:
            if "t_ready" not in result and label_ready(page):
                result["t_ready_signal"] = time.monotonic()
                mark("first label ready (item or empty state)")
                QTimer.singleShot(0, painted_ready)

        def painted_ready() -> None:
            result["t_ready"] = time.monotonic()
            if breakdown:
                open_other_pages(window)
            finish()

        page.item_drawn.connect(check)
        page.session.overview_changed.connect(check)
        check()

    class ShowWatch(QObject):
        """On the shown window's QWindow only: an application-wide filter would run Python
        for every event of the start-up and slow what it measures."""

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Expose and watched.isExposed():  # type: ignore[attr-defined]
                watched.removeEventFilter(self)
                exposed()
            return False

    watch = ShowWatch(app)

    def exposed() -> None:
        if "t_expose" in result:
            return
        result["t_expose"] = time.monotonic()
        result["modules_at_show"] = watched_modules()
        mark("window exposed")
        QTimer.singleShot(0, shown)

    def watch_show(window: QMainWindow) -> None:
        """Called right after window.show(): the QWindow exists now; X sends Expose later."""
        handle = window.windowHandle()
        if handle.isExposed():  # offscreen exposes within show()
            exposed()
        else:
            handle.installEventFilter(watch)

    def shown() -> None:
        result["t_shown"] = time.monotonic()
        mark("window painted (next event-loop turn)")
        window = next(w for w in app.topLevelWidgets()
                      if isinstance(w, QMainWindow) and w.windowTitle() == TITLE)
        if kind == "bare":
            finish()
        else:
            watch_label(window)

    QTimer.singleShot(TIMEOUT_MS, lambda: (result.setdefault("error", "timed out"), finish()))
    if kind == "bare":
        window = QMainWindow()
        window.setWindowTitle(TITLE)
        window.resize(1280, 820)
        window.show()
        watch_show(window)
        return app.exec()
    from ui.main_window import MainWindow

    show = MainWindow.show

    def show_and_watch(self: MainWindow) -> None:
        show(self)
        if self.windowTitle() == TITLE:
            watch_show(self)

    MainWindow.show = show_and_watch  # type: ignore[method-assign]
    return ui.launcher.main(["--data-dir", data_dir])


if __name__ == "__main__":
    sys.exit(main())
