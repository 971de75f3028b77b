"""A short Markdown summary for a merge-request comment (GitLab / GitHub flavoured).

Every piece of report text is escaped: symbol names such as ``operator<`` or messages
holding ``|`` must neither break a table nor turn into markup.
"""

from __future__ import annotations

import re
from collections import Counter

from elfaudit.base.errors import terminal_safe
from elfaudit.model.report import Finding, Report, Severity
from elfaudit.model.tables import GeneratedSymbols, Table
from elfaudit.render.common import library_order, sorted_findings, verdict

MAX_LISTED = 20

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def md_text(text: str) -> str:
    """Escape text for a Markdown table cell or list item: HTML, Markdown and pipes;
    control characters as ``\\xNN`` (:func:`~elfaudit.base.errors.terminal_safe`)."""
    text = terminal_safe(" ".join(text.split()))  # one line: a newline would end the row
    text = "".join(_HTML.get(c, c) for c in text)
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(text: str) -> str:
    """Escaped text in ``<code>`` (a backtick span would show ``&lt;`` literally)."""
    return f"<code>{md_text(text)}</code>"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _finding_row(f: Finding) -> str:
    return _row(
        [
            f.severity.value,
            md_text(f.library),
            md_code(f.rule),
            md_code(f.symbol) if f.symbol is not None else "",
            md_code(f.version) if f.version is not None else "",
            md_text(f.message),
        ]
    )


class MarkdownRenderer:
    def render(self, report: Report) -> str:
        blocks = [f"### elfaudit {md_text(report.command)}: {verdict(report)}"]
        if report.guarantees:
            from elfaudit.render.common import evidence_summary, section_verdict

            lines = [_row(["section", "verdict", "reason and evidence"]), "| --- | --- | --- |"]
            lines += [
                _row(
                    [
                        md_code(s.section),
                        md_text(section_verdict(s)),
                        md_text("; ".join(x for x in (s.reason, evidence_summary(s)) if x)),
                    ]
                )
                for s in report.guarantees
            ]
            blocks.append("\n".join(lines))
        findings = sorted_findings(report)
        libs = library_order(report)
        if libs:
            lines = [
                _row(["library", "errors", "warnings", "info", "waived"]),
                "| --- | ---: | ---: | ---: | ---: |",
            ]
            for lib in libs:
                c = Counter(
                    "waived" if f.waived is not None else f.severity.value
                    for f in findings
                    if f.library == lib
                )
                lines.append(
                    _row(
                        [
                            md_text(lib),
                            str(c["error"]),
                            str(c["warning"]),
                            str(c["info"]),
                            str(c["waived"]),
                        ]
                    )
                )
            blocks.append("\n".join(lines))
        else:
            blocks.append("No library was audited.")

        serious = [f for f in findings if f.waived is None and f.severity is not Severity.INFO]
        if serious:
            lines = [
                _row(["severity", "library", "rule", "symbol", "version", "message"]),
                "| --- | --- | --- | --- | --- | --- |",
            ]
            lines += [_finding_row(f) for f in serious[:MAX_LISTED]]
            blocks.append("\n".join(lines))
            if len(serious) > MAX_LISTED:
                blocks.append(f"…and {len(serious) - MAX_LISTED} more")
        elif libs:
            blocks.append("No errors or warnings.")

        if report.problems:
            lines = ["**Could not audit:**", ""]
            lines += [f"- {md_code(p.path)}: {md_text(p.message)}" for p in report.problems]
            blocks.append("\n".join(lines))

        info = [f for f in findings if f.waived is None and f.severity is Severity.INFO]
        if info:
            per_rule = Counter(f.rule for f in info)
            noun = "finding" if len(info) == 1 else "findings"
            lines = [f"<details><summary>{len(info)} info {noun}</summary>", ""]
            lines += [f"- {md_code(rule)}: {n}" for rule, n in sorted(per_rule.items())]
            lines += ["", "</details>"]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"


def render_table_markdown(table: Table) -> str:
    """A :class:`Table` as a Markdown table under its title, notes as a list after it."""
    lines = [f"### {md_text(table.title)}", ""] if table.title else []
    if table.rows:
        lines.append(_row([md_text(h) for h in table.headers]))
        lines.append(_row(["---"] * len(table.headers)))
        lines.extend(_row([md_text(str(c)) for c in row]) for row in table.rows)
    else:
        lines.append("(nothing)")
    notes = (*table.notes, *table.text_notes)
    if notes:
        lines.append("")
        lines.extend(f"- {md_text(n)}" for n in notes)
    return "\n".join(lines) + "\n"


def render_symbols_markdown(generated: GeneratedSymbols) -> str:
    """A generated symbols file's entries, one table per library."""
    lines: list[str] = []
    for lib in generated.libraries:
        if lines:
            lines.append("")
        lines.append(f"### {md_code(lib.soname)} ({md_text(lib.package)})")
        if lib.build_depends_package:
            lines.append("")
            lines.append(f"Build-Depends-Package: {md_text(lib.build_depends_package)}")
        lines.append("")
        lines.append(_row(["Symbol or pattern", "Minimal version"]))
        lines.append(_row(["---", "---"]))
        lines.extend(
            _row([md_code(f"(symver){e.name}" if e.pattern else e.name), md_text(e.minver)])
            for e in lib.lines
        )
    return "\n".join(lines or ["(nothing)"]) + "\n"
