"""Every labeling key in one table: the page dispatches on it and the help lists it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ui.widgets.help_overlay import WINDOW_SECTION

K = Qt.Key
MODE_NAMES = {"thumb": "Thumbs", "pair": "Pairwise", "edit": "Edit"}
MODE_KEYS = {K.Key_1: "thumb", K.Key_2: "pair", K.Key_3: "edit"}

# mode -> key -> (action, argument)
ACTIONS: dict[str, dict[int, tuple[str, str]]] = {
    "thumb": {K.Key_U: ("label", "up"), K.Key_D: ("label", "down"), K.Key_S: ("next", "")},
    "pair": {
        K.Key_A: ("label", "left"), K.Key_B: ("label", "right"), K.Key_T: ("label", "tie"),
        K.Key_X: ("label", "both_bad"), K.Key_S: ("next", ""),
    },
    "edit": {K.Key_E: ("edit", ""), K.Key_Return: ("edit", ""), K.Key_Enter: ("edit", ""),
             K.Key_S: ("next", "")},
}
COMMON: dict[int, tuple[str, str]] = {
    K.Key_Left: ("back", ""), K.Key_Right: ("next", ""), K.Key_Return: ("next", ""),
    K.Key_Enter: ("next", ""), K.Key_R: ("reason", ""), K.Key_Question: ("help", ""),
    K.Key_Space: ("scroll", "1"), K.Key_PageDown: ("scroll", "1"),
    K.Key_PageUp: ("scroll", "-1"), K.Key_Down: ("scroll", "0.2"), K.Key_Up: ("scroll", "-0.2"),
}

HELP = [
    ("Thumbs (1)", [("U", "good answer (thumbs up)"), ("D", "bad answer (thumbs down)"),
                    ("S", "skip"), ("R", "type a reason, Enter keeps it for this item")]),
    ("Pairwise (2)", [("A", "left is better"), ("B", "right is better"), ("T", "tie"),
                      ("X", "both bad"), ("S", "skip")]),
    ("Edit (3)", [("E / Enter", "edit the answer"), ("Ctrl+Enter", "save as gold answer"),
                  ("Esc", "stop editing"), ("S", "skip")]),
    ("Everywhere", [("1 2 3", "Thumbs, Pairwise, Edit mode"), ("← / →", "previous / next item"),
                    ("Enter", "next item"), ("Ctrl+Z", "undo the last label"),
                    ("Ctrl+Shift+Z", "redo"), ("Space / PgUp / ↑ ↓", "scroll the answers"),
                    ("?", "this help")]),
    WINDOW_SECTION,
]

HINTS = {
    "thumb": "U good · D bad · S skip · R reason · ← → move · Ctrl+Z undo · ? keys",
    "pair": "A left · B right · T tie · X both bad · S skip · ← → move · Ctrl+Z undo · ? keys",
    "edit": "E edit · Ctrl+Enter save gold · Esc stop editing · S skip · Ctrl+Z undo · ? keys",
}

VERDICTS = {
    "up": ("good", "Thumbs up"), "down": ("bad", "Thumbs down"),
    "tie": ("neutral", "Tie"), "both_bad": ("bad", "Both bad"), "gold": ("good", "Saved as gold"),
}
