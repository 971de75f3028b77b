"""JUnit XML for CI dashboards (Jenkins, GitLab): one testsuite per library.

Each testsuite holds one testcase per rule family the command covers or a finding belongs
to. A testcase fails when its family has active error findings (all listed in the
failure body); warnings go to ``<system-out>``. Problems (inputs that could not be
audited) become ``<error>`` testcases in a ``problems`` testsuite.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from elfaudit.model.report import Finding, Report, Severity
from elfaudit.render.common import finding_line, junit_families, library_order, rule_family
from elfaudit.render.common import sorted_findings as _sorted

# Characters XML 1.0 cannot carry at all (C0 controls but tab/LF/CR, surrogates, U+FFFE/F).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Replace characters XML cannot represent by a visible ``\\uXXXX`` escape."""
    return _INVALID_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _classname(command: str, library: str) -> str:
    # Dots split JUnit class names into packages; keep the library one segment.
    return f"elfaudit.{command}.{library.replace('.', '_')}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class JunitRenderer:
    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose

    def render(self, report: Report) -> str:
        root = ET.Element("testsuites", name=xml_safe(f"elfaudit {report.command}"))
        findings = _sorted(report)
        totals = [0, 0, 0]  # tests, failures, errors
        for lib in library_order(report):
            suite = self._suite(report, lib, [f for f in findings if f.library == lib])
            root.append(suite)
            totals[0] += int(suite.get("tests", "0"))
            totals[1] += int(suite.get("failures", "0"))
        if report.guarantees:
            suite = self._sections(report)
            root.append(suite)
            totals[0] += int(suite.get("tests", "0"))
            totals[1] += int(suite.get("failures", "0"))
        if report.problems:
            suite = ET.Element(
                "testsuite",
                name="problems",
                tests=str(len(report.problems)),
                failures="0",
                errors=str(len(report.problems)),
                skipped="0",
            )
            for p in report.problems:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    name=xml_safe(p.path),
                    classname=f"elfaudit.{report.command}.problems",
                )
                err = ET.SubElement(
                    case,
                    "error",
                    message=xml_safe(f"could not audit {p.path}: {p.message}"),
                    type="could-not-audit",
                )
                err.text = xml_safe(p.message)
            root.append(suite)
            totals[0] += len(report.problems)
            totals[2] += len(report.problems)
        root.set("tests", str(totals[0]))
        root.set("failures", str(totals[1]))
        root.set("errors", str(totals[2]))
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"

    def _sections(self, report: Report) -> ET.Element:
        """One testcase per section of the support page: skipped when not checked (or no
        promise), failed when it has an active error finding."""
        from elfaudit.model.guarantees import SectionStatus

        suite = ET.Element("testsuite", name="guarantees")
        failures = skipped = 0
        for sec in report.guarantees:
            case = ET.SubElement(
                suite,
                "testcase",
                name=xml_safe(sec.section),
                classname=f"elfaudit.{report.command}.sections",
            )
            if sec.status is not SectionStatus.CHECKED:
                ET.SubElement(
                    case, "skipped", message=xml_safe(f"{sec.status.value}: {sec.reason}")
                )
                skipped += 1
                continue
            errors = [f for f in sec.findings if f.waived is None and f.severity is Severity.ERROR]
            if errors:
                failures += 1
                fail = ET.SubElement(
                    case,
                    "failure",
                    message=xml_safe(f"{len(errors)} error finding(s)"),
                    type="incompatible",
                )
                fail.text = xml_safe("\n".join(finding_line(f) for f in errors))
        suite.set("tests", str(len(report.guarantees)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        return suite

    def _suite(self, report: Report, lib: str, findings: list[Finding]) -> ET.Element:
        suite = ET.Element("testsuite", name=xml_safe(lib))
        tests = failures = 0
        for family in junit_families(report, lib):
            mine = [f for f in findings if rule_family(f.rule) == family]
            errors = [f for f in mine if f.waived is None and f.severity is Severity.ERROR]
            out = [
                f"warning {finding_line(f)}"
                for f in mine
                if f.waived is None and f.severity is Severity.WARNING
            ]
            if self.verbose:
                out += [
                    f"info {finding_line(f)}"
                    for f in mine
                    if f.waived is None and f.severity is Severity.INFO
                ]
            out += [f"waived ({f.waived}) {finding_line(f)}" for f in mine if f.waived is not None]
            case = ET.SubElement(
                suite, "testcase", name=family, classname=xml_safe(_classname(report.command, lib))
            )
            tests += 1
            if errors:
                failures += 1
                rules = sorted({f.rule for f in errors})
                fail = ET.SubElement(
                    case,
                    "failure",
                    message=xml_safe(
                        f"{_plural(len(errors), 'error')} in {family} checks of {lib}"
                    ),
                    type=",".join(rules),
                )
                fail.text = xml_safe("\n".join(finding_line(f) for f in errors))
            if out:
                ET.SubElement(case, "system-out").text = xml_safe("\n".join(out))
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        return suite
