"""Parse a reviewer's JSON verdict out of messy model output.

Models wrap JSON in thinking blocks, code fences and chatter; they write
Python literals (True, single quotes), trailing commas, or several objects
(a draft, then the final one). We take the LAST object that carries a
``verdict`` key, trying strict JSON first and then a lenient repair; when no
object parses, a plain ``verdict: reject`` line still counts.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

CHECKLIST = ("data_flow", "instance_trace", "algorithm", "scorer", "edge_cases", "tie_break", "answer_format",
             "valid_answers")
_THINK = re.compile(r"<think>.*?(</think>|$)", re.IGNORECASE | re.DOTALL)
_VERDICT_WORD = re.compile(r"""["']?verdict["']?\s*[:=]\s*["']?\s*(accept|reject)""", re.IGNORECASE)
MAX_SCAN = 200_000  # a reviewer reply longer than this is scanned from its end


@dataclass
class Verdict:
    verdict: str | None  # "accept" | "reject" | None when nothing parsable was found
    reason: str = ""
    checklist: dict[str, dict] = field(default_factory=dict)
    parsed_from: str = "none"  # "json" | "lenient" | "text" | "none"

    @property
    def failed_items(self) -> list[str]:
        return [k for k, v in self.checklist.items() if isinstance(v, dict) and v.get("ok") is False]

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "reason": self.reason, "checklist": self.checklist,
                "failed_items": self.failed_items, "parsed_from": self.parsed_from}


def _objects(text: str) -> list[str]:
    """Balanced {...} spans (string-aware), outermost only, in order."""
    spans, depth, start, in_str, quote, escaped = [], 0, None, False, "", False
    for i, ch in enumerate(text):
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                in_str = False
            continue
        if ch in "\"'" and depth:
            in_str, quote = True, ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start:i + 1])
    return spans


def _lenient(blob: str) -> object:
    fixed = re.sub(r",\s*([}\]])", r"\1", blob)  # trailing commas
    try:
        return json.loads(fixed)
    except json.JSONDecodeError:
        pass
    pythonish = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", fixed)))
    try:
        return ast.literal_eval(pythonish)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _normalise(obj: dict) -> Verdict | None:
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    raw = lowered.get("verdict")
    if not isinstance(raw, str):
        return None
    word = raw.strip().lower()
    if word.startswith("accept") or word in ("pass", "approve", "approved", "yes"):
        verdict = "accept"
    elif word.startswith("reject") or word in ("fail", "no"):
        verdict = "reject"
    else:
        return None
    checklist = {}
    for item in CHECKLIST:
        value = lowered.get(item)
        if isinstance(value, dict):
            ok = value.get("ok")
            checklist[item] = {"ok": ok if isinstance(ok, bool) else None, "notes": str(value.get("notes", ""))[:2000]}
        elif isinstance(value, bool):
            checklist[item] = {"ok": value, "notes": ""}
    return Verdict(verdict, str(lowered.get("reason", ""))[:2000], checklist)


def parse_verdict(text: str) -> Verdict:
    if not isinstance(text, str) or not text:
        return Verdict(None)
    text = text[-MAX_SCAN:]
    visible = _THINK.sub("", text)
    for source in (visible, text):  # a verdict only inside <think> is still better than none
        for blob in reversed(_objects(source)):
            if "verdict" not in blob.lower():
                continue
            for how, loader in (("json", json.loads), ("lenient", _lenient)):
                try:
                    obj = loader(blob)
                except (json.JSONDecodeError, RecursionError):
                    obj = None
                if isinstance(obj, dict):
                    found = _normalise(obj)
                    if found:
                        found.parsed_from = how
                        return found
    words = _VERDICT_WORD.findall(visible) or _VERDICT_WORD.findall(text)
    if words:
        return Verdict(words[-1].lower(), parsed_from="text")
    return Verdict(None)
