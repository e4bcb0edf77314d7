"""Templates: only {index} and {name}, checked when compiled, rendered as str.format."""

from __future__ import annotations

import pytest

from bulkboot.pipeline.template import Template, TemplateError, compile_template


def test_literal_strings_stay_strings_with_braces_unescaped() -> None:
    assert compile_template("web") == "web"
    assert compile_template("a{{b}}c") == "a{b}c"


def test_templates_render_index_and_name_with_format_specs() -> None:
    template = compile_template("{name}.lab-{index:03d}")
    assert isinstance(template, Template)
    assert template.uses == {"index", "name"}
    assert template.render(7, "web") == "web.lab-007"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{user}", "unknown placeholder {user} in '{user}': only {index} and {name} exist"),
        ("{index.real}", "unknown placeholder {index.real}"),
        ("{index[0]}", "unknown placeholder {index[0]}"),
        ("{}", "unknown placeholder {} in '{}'"),
        ("{0}", "unknown placeholder {0}"),
        ("web-{", "bad template 'web-{': Single '{' encountered in format string"),
        ("web-}", "bad template 'web-}': Single '}' encountered in format string"),
        ("{name:d}", "bad template '{name:d}': Unknown format code 'd'"),
        ("{index:{w}}", "nested placeholders are not supported"),
        ("{index!z}", "bad"),
        ("{index:0999999999d}", "a width or precision over 255 in '{index:0999999999d}'"),
        ("{name:.1000}", "a width or precision over 255"),
        ("x-{index:c}", "format 'c' (a character) cannot show {index}"),
        ("x-{index:>5c}", "format 'c' (a character) cannot show {index}"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template(text)
    assert message in str(caught.value)


def test_allowed_placeholders_can_be_narrowed() -> None:
    with pytest.raises(TemplateError, match=r"\{name\} cannot be used here"):
        compile_template("{name}-x", allowed=("index",))
