"""One bench table: rows of (what, goal, measured, unit), printed side by side.

`ratio` is measured / goal, oriented so that ≥ 1 means the goal is met
(for "at most" goals it is goal / measured).
"""


class Row:
    def __init__(self, name, measured, unit, goal=None, at_most=False, note=""):
        self.name = name
        self.measured = measured
        self.unit = unit
        self.goal = goal
        self.at_most = at_most
        self.note = note

    @property
    def ratio(self):
        if self.goal is None or not self.measured:
            return None
        return self.goal / self.measured if self.at_most else self.measured / self.goal


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return "%.3g" % value if abs(value) < 1000 else "{:,.0f}".format(value)
    return "{:,}".format(value)


def render(rows):
    header = ("row", "goal", "measured", "unit", "ratio", "note")
    body = []
    for row in rows:
        goal = "-" if row.goal is None else ("≤ " if row.at_most else "≥ ") + _fmt(row.goal)
        ratio = "-" if row.ratio is None else "%.2f" % row.ratio
        body.append((row.name, goal, _fmt(row.measured), row.unit, ratio, row.note))
    widths = [max(len(str(line[i])) for line in [header] + body) for i in range(len(header))]
    lines = ["| " + " | ".join(str(cell).ljust(w) for cell, w in zip(line, widths)) + " |" for line in [header] + body]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
