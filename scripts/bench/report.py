"""Figures (median, min, max of samples), the Markdown table and the JSON document."""

import json
import statistics


def summary(samples):
    if not samples:
        return None
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
        "samples": samples,
    }


class Row:
    """One compared figure. `better` is "lower" (times, memory) or "higher" (rates)."""

    def __init__(self, key, title, unit, better, note=""):
        self.key, self.title, self.unit, self.better, self.note = key, title, unit, better, note
        self.swiftlet = []
        self.qemu = []
        self.error = None
        self.qemu_absent = None  # reason QEMU has no comparable figure, if any

    def ratio(self):
        s, q = summary(self.swiftlet), summary(self.qemu)
        if not s or not q or q["median"] == 0:
            return None
        return s["median"] / q["median"]

    def verdict(self):
        ratio = self.ratio()
        if ratio is None:
            return ""
        if abs(ratio - 1) < 0.05:
            return "about equal"
        swiftlet_better = ratio < 1 if self.better == "lower" else ratio > 1
        factor = max(ratio, 1 / ratio) if ratio > 0 else float("inf")
        return "%s %.1f× better" % ("Swiftlet" if swiftlet_better else "QEMU", factor)

    def as_json(self):
        return {
            "key": self.key,
            "title": self.title,
            "unit": self.unit,
            "better": self.better,
            "note": self.note,
            "swiftlet": summary(self.swiftlet),
            "qemu": summary(self.qemu),
            "ratio_swiftlet_over_qemu": self.ratio(),
            "verdict": self.verdict(),
            "qemu_absent": self.qemu_absent,
            "error": self.error,
        }


def _number(value):
    if value >= 100:
        return "%.0f" % value
    if value >= 10:
        return "%.1f" % value
    return "%.2f" % value


def _cell(samples):
    s = summary(samples)
    if not s:
        return "–"
    if s["runs"] == 1:
        return _number(s["median"])
    return "%s (%s–%s)" % (_number(s["median"]), _number(s["min"]), _number(s["max"]))


def markdown(rows):
    out = [
        "| # | Measurement | Unit | Swiftlet median (min–max) | QEMU median (min–max) | Swiftlet/QEMU | Better |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, row in enumerate(rows, 1):
        if row.error:
            out.append("| %d | %s | %s | FAILED: %s | | | |" % (number, row.title, row.unit, row.error.replace("|", "/")))
            continue
        ratio = row.ratio()
        qemu = _cell(row.qemu) if row.qemu else "n/a (%s)" % row.qemu_absent if row.qemu_absent else "–"
        out.append("| %d | %s | %s | %s | %s | %s | %s |" % (
            number, row.title, row.unit, _cell(row.swiftlet), qemu,
            "%.2f" % ratio if ratio is not None else "–", row.verdict() or "–"))
    return "\n".join(out)


def write_json(path, machine, settings, rows):
    document = {"machine": machine, "settings": settings, "rows": [row.as_json() for row in rows]}
    with open(path, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
