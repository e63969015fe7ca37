"""Every form's refusal (R-W6): the detail, the rule and what to change, on the field it names."""

from __future__ import annotations

from api.workspace import messages
from registry.errors import RuleViolation


class _Field:
    def __init__(self) -> None:
        self.errors: list[str] = []


class _Form:
    def __init__(self) -> None:
        self.quantity = _Field()
        self.form_errors: list[str] = []


def test_a_refusal_names_the_rule_and_what_to_change_on_its_field():
    form = _Form()
    error = RuleViolation("the block holds 40, not 60", field="items.2.quantity", code="insufficient_quantity",
                          rule="R-T3")
    shown = messages.apply(form, error)
    assert form.quantity.errors == [
        "the block holds 40, not 60 (R-T3). Enter a quantity no larger than what the block holds."]
    assert form.form_errors == [] and shown.code == "insufficient_quantity"


def test_a_refusal_without_advice_or_field_goes_above_the_form():
    form = _Form()
    messages.apply(form, RuleViolation("something else went wrong.", code="no_such_code"))
    assert form.form_errors == ["something else went wrong."] and form.quantity.errors == []


def test_every_advised_code_is_one_the_registry_raises():
    import pathlib
    import re

    import registry
    raised, made = set(), set()  # made: codes built with an f-string, by their fixed prefix
    for path in pathlib.Path(registry.__file__).parent.rglob("*.py"):
        raised |= set(re.findall(r'code\s?=\s?"([a-z_]+)"', path.read_text()))
        made |= set(re.findall(r'code\s?=\s?(?:.*? else )?f"([a-z_]+)\{', path.read_text()))
    assert {c for c in set(messages.ADVICE) - raised if not any(c.startswith(p) for p in made)} == set()


def test_a_page_may_advise_otherwise_where_a_code_means_something_else_there():
    error = RuleViolation("the determination is withdrawn", code="determination_not_current")
    assert messages.refusal(error).advice == messages.ADVICE["determination_not_current"]  # the generator's
    assert messages.page_refusal(error, "certifier").advice == messages.PAGE_ADVICE[
        ("certifier", "determination_not_current")]
    assert messages.page_refusal(error, "member").advice == messages.ADVICE["determination_not_current"]
    form = _Form()
    messages.apply(form, error, page="certifier")
    assert form.form_errors == ["the determination is withdrawn. It was withdrawn or superseded already: "
                                "reload the page to see its status."]
    assert {code for _, code in messages.PAGE_ADVICE} <= {"determination_not_current", "determination_not_found",
                                                          "custody_account_not_found"}  # codes the registry raises
