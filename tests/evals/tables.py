"""Reading printed comparison tables back in tests: the terminal table (stdout) and report.md's."""
from __future__ import annotations

import re
from pathlib import Path


def terminal_table(text: str) -> dict[str, dict[str, str]]:
    """The terminal table (columns two spaces apart, a dashed rule under the headers) as
    {method: {header: cell}}; columns are cut where the rule's dashes are."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---") and set(line) <= {"-", " "})
    spans = [m.span() for m in re.finditer(r"-+", lines[rule])]
    spans[-1] = (spans[-1][0], None)  # the last column may be wider than its dashes (it is not padded)

    def cells(line: str) -> list[str]:
        return [line[a:b].strip() for a, b in spans]

    headers = cells(lines[rule - 1])
    rows = [dict(zip(headers, cells(line))) for line in lines[rule + 1:] if line.strip() and not line.startswith("report:")]
    return {row["method"]: row for row in rows}


def markdown_table(text: str) -> dict[str, dict[str, str]]:
    """The markdown table (report.md, `format=markdown`) as {method: {header: cell}}."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    headers = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = [dict(zip(headers, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    return {row["method"]: row for row in rows}


def report_path(stdout: str) -> Path:
    """The `report: PATH` line the main job prints last."""
    return Path(next(line for line in stdout.splitlines() if line.startswith("report: ")).split(" ", 1)[1])
