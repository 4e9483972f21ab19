"""About Tuning Studio: the version, the data folder, and the installation check.

The check (``studio.system.doctor.run_checks``) takes a second or two because it imports torch in a
child process, so it runs as ``python -m studio.cli.doctor --json`` in a QProcess: neither the
UI thread nor the store worker waits for it. "Copy report" puts the plain-text report on the
clipboard, for a bug report.
"""

from __future__ import annotations

import html
import json
import sys

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from studio import __version__
from studio.app.doctor import HealthCheck, Status, format_report
from ui.context import AppContext
from ui.runners.process_runner import ProcessRunner

MARKS = {Status.OK: "✓", Status.WARNING: "!", Status.PROBLEM: "✗"}
COLORS = {Status.OK: "#2e7d32", Status.WARNING: "#b26a00", Status.PROBLEM: "#c62828"}


def parse_report(output: str) -> list[HealthCheck]:
    """The checks from ``cli_doctor --json`` output (library chatter before it is skipped)."""
    start = output.find("[")
    if start < 0:
        raise ValueError("the check printed no report")
    return [HealthCheck.from_dict(item) for item in json.loads(output[start:])]


def report_html(checks: list[HealthCheck]) -> str:
    rows = []
    for check in checks:
        fix = f"<br><i>Fix:</i> {html.escape(check.fix)}" if check.fix else ""
        rows.append(
            f"<tr><td style='color:{COLORS[check.status]}'><b>{MARKS[check.status]}</b></td>"
            f"<td><b>{html.escape(check.name)}</b></td>"
            f"<td>{html.escape(check.summary)}{fix}</td></tr>")
    return "<table cellpadding='4'>" + "".join(rows) + "</table>"


class AboutDialog(QDialog):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.checks: list[HealthCheck] = []
        self._output: list[str] = []
        self.setWindowTitle("About Tuning Studio")
        self.resize(640, 460)
        layout = QVBoxLayout(self)
        title = QLabel(f"Tuning Studio {__version__}", objectName="PageTitle")
        layout.addWidget(title)
        folder = QLabel(f"Data folder: {context.paths.root}", objectName="Muted")
        folder.setWordWrap(True)
        layout.addWidget(folder)
        layout.addWidget(QLabel("Installation check", objectName="CardTitle"))
        self.report = QTextBrowser()
        self.report.setHtml("<i>Checking Python, torch, llama.cpp, the converter and the data"
                            " folder…</i>")
        layout.addWidget(self.report, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy report")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_report)
        self.again_button = QPushButton("Check again")
        self.again_button.clicked.connect(self.run_checks)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.again_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.runner = ProcessRunner(self)
        self.runner.line.connect(self._output.append)
        self.runner.finished.connect(self._finished)
        self.runner.failed_to_start.connect(self._show_error)
        self.run_checks()

    def run_checks(self) -> None:
        if self.runner.running:
            return
        self._output.clear()
        self.again_button.setEnabled(False)
        self.runner.start(["-m", "studio.cli.doctor", "--json", "--data-dir",
                           str(self.context.paths.root)], program=sys.executable)

    def _finished(self, _code: int, crashed: bool) -> None:
        # The exit code is 1 when a check found a problem: the report is still complete.
        self.again_button.setEnabled(True)
        text = "\n".join(self._output)
        try:
            self.checks = parse_report(text)
        except (ValueError, KeyError, TypeError) as error:
            tail = "\n".join(self._output[-8:])
            self._show_error(f"{'crashed' if crashed else error}\n{tail}")
            return
        self.report.setHtml(report_html(self.checks) + "<p>"
                            + html.escape(format_report(self.checks).splitlines()[-1]) + "</p>")
        self.copy_button.setEnabled(True)

    def _show_error(self, message: str) -> None:
        self.again_button.setEnabled(True)
        self.report.setHtml("<p>The check could not run:</p><pre>"
                            + html.escape(message) + "</pre>")

    def copy_report(self) -> None:
        text = (f"Tuning Studio {__version__}\nData folder: {self.context.paths.root}\n\n"
                + format_report(self.checks))
        QGuiApplication.clipboard().setText(text)
        self.context.status_message.emit("The installation report is on the clipboard.")

    def reject(self) -> None:
        if self.runner.running:
            self.runner.stop()
            self.runner.wait(10_000)
        super().reject()
