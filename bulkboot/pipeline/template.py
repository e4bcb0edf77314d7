"""``{index}`` and ``{name}`` templates in manifest strings, compiled once per string.

Manifest strings follow ``str.format``: ``web-{index:02d}``, ``{name}.lab.example``,
``{{`` for a literal brace. Only the two placeholders exist, without attribute or item
access, so a template can never reach into Python objects; every other field name is
a user's mistake and says so. Compiling checks the format spec by rendering once, so
``{name:d}`` is caught when the manifest is read, not half-way through an expansion.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

__all__ = ["PLACEHOLDERS", "Template", "TemplateError", "compile_template"]

PLACEHOLDERS = ("index", "name")
_PARSER = string.Formatter()
_NUMBER = re.compile(r"\d+")
MAX_WIDTH = 255  # no string bulkboot sends may be longer; and {index:999999999} is 1 GB


class TemplateError(ValueError):
    """A string is not a valid template; ``str()`` is a user's message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    """A string with placeholders; ``render`` is ``str.format`` on the checked text."""

    text: str  # as written
    uses: frozenset[str]  # which of PLACEHOLDERS it uses

    def render(self, index: int, name: str) -> str:
        return self.text.format(index=index, name=name)


def compile_template(text: str, *, allowed: tuple[str, ...] = PLACEHOLDERS) -> str | Template:
    """Return the literal string when ``text`` has no placeholder, else a ``Template``.

    ``{{``/``}}`` in a literal string come back unescaped. Raises ``TemplateError``.
    """
    if "{" not in text and "}" not in text:
        return text
    try:
        parts = list(_PARSER.parse(text))
    except ValueError as exc:
        raise TemplateError(
            f"bad template {text!r}: {exc} (write {{{{ or }}}} for a literal brace)"
        ) from None
    uses: set[str] = set()
    for _literal, field_name, format_spec, conversion in parts:
        if field_name is None:
            continue
        if field_name not in allowed:
            if field_name in PLACEHOLDERS:
                raise TemplateError(f"{{{field_name}}} cannot be used here")
            known = " and ".join(f"{{{p}}}" for p in allowed)
            shown = "{" + field_name + "}" if field_name else "{}"
            raise TemplateError(f"unknown placeholder {shown} in {text!r}: only {known} exist")
        if format_spec and ("{" in format_spec or "}" in format_spec):
            raise TemplateError(f"nested placeholders are not supported in {text!r}")
        if any(int(n) > MAX_WIDTH for n in _NUMBER.findall(format_spec or "")):
            raise TemplateError(f"a width or precision over {MAX_WIDTH} in {text!r}")
        if field_name == "index" and (format_spec or "").endswith("c"):
            # a character, not a number: most indexes are no character at all
            raise TemplateError(f"format 'c' (a character) cannot show {{index}} in {text!r}")
        if conversion not in (None, "s", "r", "a"):
            raise TemplateError(f"bad conversion !{conversion} in {text!r}")
        uses.add(field_name)
    if not uses:
        return "".join(literal for literal, *_ in parts)
    template = Template(text=text, uses=frozenset(uses))
    try:
        template.render(1, "server")
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"bad template {text!r}: {exc}") from None
    return template
