"""What a workspace form says when the registry refuses it (R-W6): the rule, in
plain words, and what to change — one place for every page, keyed by the same
problem ``code`` the API returns (R-X1).

A service's ``detail`` already names the values involved ("you hold 40, not
60"); the advice here says what to do about it. A code with no advice shows
the detail alone. ``apply`` puts the message on the form field the error names
(the API's field names are the forms' field names), or above the form.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from registry.errors import RegistryError

#: code -> what to change. Keep each to one sentence a user can act on.
ADVICE: dict[str, str] = {
    "insufficient_quantity": "Enter a quantity no larger than what the block holds.",
    "insufficient_credit": "Record certified input first, or claim less: the account's credit is what it can back.",
    "not_owner": "Choose a block or item your participant holds.",
    "same_participant": "Choose another participant as the recipient.",
    "participant_not_found": "Check the participant's id in the participants directory.",
    "participant_inactive": "The participant must be active; an administrator can tell you why it is not.",
    "participant_suspended": "The participant is suspended; an administrator can tell you why.",
    "block_not_found": "Check the serial: copy it from your holdings.",
    "block_not_active": "Only active blocks move or retire; an offered, retired or expired block does not.",
    "duplicate_serial": "Name each block once; put its whole quantity on one line.",
    "too_many_items": "Split the list into files of at most 1 000 lines.",
    "offer_not_found": "The offer may have been answered already: reload the offers page.",
    "offer_lapsed": "The offer lapsed; ask the sender to transfer again.",
    "beneficiary_required": "Name who the retirement is for.",
    "disclaimer_required": "Tick the statement that ARCs are credits, not the product's content.",
    "product_name_required": "Name the product the claim is about.",
    "composition_required": "Give the product's composition for a product claim.",
    "invalid_reporting_year": "Choose a reporting year within the block's use period.",
    "outside_use_period": "The block's use period has ended: it can no longer be transferred or retired.",
    "date_in_future": "Choose today or an earlier date.",
    "lot_over_allocated": "Generate or claim no more than the lot's sold mass left.",
    "certificate_invalid": "Use an RMS certificate of your participant, valid on that date.",
    "facility_not_certified": "Use a site your RMS certificate lists, or ask your certifier for an amendment.",
    "not_additional": "Generation needs a determination that the facility is additional (R-A3).",
    "determination_not_found": "Ask your certification body for an additionality determination first.",
    "determination_not_current": "Ask your certification body for this year's additionality determination.",
    # Generator and certifier pages (R-W2, R-W4)
    "conversion_inconsistent": "Document an input and factor that yield at least the lot's mass, and an output of the lot's material.",
    "lot_reference_taken": "Give the lot a reference none of your lots has.",
    "eligible_volume_exceeded": "Generate no more than the eligible volume left, as the preview shows.",
    "processed_before_basis": "Only lots processed on or after the determination's basis date can generate.",
    "phase_out_pc_only": "Under the phase-out exemption only the post-consumer component generates.",
    "lot_too_old": "ARCs are generated within a year of processing; this lot's time has passed.",
    "custody_account_required": "Choose the custody account the lot is an output of.",
    "custody_account_mismatch": "Choose a custody account of this site and product, or none.",
    "component_required": "Choose the component (PC or PI) to generate from.",
    "quantity_below_minimum": "Use more base material: at least enough for 0.001 certificate.",
    "claim_exceeds_status": "Claim the lot's own recycled status or a lower one.",
    "invalid_claim": "Write the claim as on the invoice, e.g. RMS 75% PC MB.",
    "invalid_date": "Choose a date between the lot's processing date and today.",
    "certificate_not_found": "Choose one of your RMS certificates.",
    "period_not_ended": "Close the period after its last day.",
    "period_closed": "The period is closed already: reload the page to see its summary.",
    "period_out_of_order": "Close the earlier period first.",
    "not_certifying_body": "Record determinations only for participants your body certifies, for a year it certifies them.",
    "exceeds_capacity": "Declare a volume no larger than the facility's (or line's) capacity.",
    "facility_not_found": "Choose one of the facilities listed.",
    # The certifier page (R-W4, R-C6, R-A5): renewing, amending, suspending certificates; financial, quality bases
    "period_overlaps": "Start the new validity period after the current one ends.",
    "invalid_date_range": "Choose an end date on or after the start date.",
    "certificate_revoked": "A revoked certificate never changes again: record a new certification under a new number.",
    "amendment_backdated": "Choose today or a later date, not before the amendment in force: a past finding is a suspension or revocation.",
    "outside_validity": "Choose a date within one of the certificate's validity periods, or renew it first.",
    "not_suspended": "Only a suspended certificate is reinstated: choose a day on which it is suspended.",
    "wrong_certification_body": "Change only the certificates your own body issued.",
    "invalid_scope": "Tick at least one activity and one control system.",
    "too_many_facilities": "List one site for a single-site certificate, or amend it with the API as multi-site.",
    "facilities_under_members": "Leave the sites empty: a group's members and their sites are amended with the API.",
    "incomplete_price_comparison": "Give both the price increase and the market index increase, or neither.",
    "unknown_investment_category": "Choose one of the listed investment categories.",
    "lot_not_found": "Open the lot from your lots page.",
    # The holder pages (R-W3): transfer, offers, retire.
    "block_disputed": "The block is under a dispute; wait for the administrator's decision.",
    "invalid_number": "Write a number with a decimal point, e.g. 12.5 (no thousands separators).",
    "too_many_decimals": "Use at most 3 decimals for certificates (6 for tonnes).",
    "must_be_positive": "Enter a quantity greater than zero.",
    "invalid_cursor": "Go back to the first page of the list.",
    "not_offer_recipient": "Only the participant the offer was made to may accept or reject it.",
    "not_offer_sender": "Only the participant that made the offer may withdraw it.",
    "offer_already_accepted": "Nothing to do: reload the offers page to see its state.",
    "offer_rejected": "The offer was answered already: reload the offers page.",
    "offer_withdrawn": "The sender withdrew the offer: reload the offers page.",
    "product_not_allowed": "Choose a product claim, or leave the product fields empty for a general claim.",
    "product_claim_only": "Leave the claimed status and label reference empty, or choose a product claim.",
    "exceeds_product_mass": "Retire no more than the product's mass of this type still unclaimed this year.",
    "material_mismatch": "Add the certificates' ARC type to the product's composition.",
    "claimed_status_too_high": "State the certificates' own recycled status or a lesser one, or leave it empty.",
    "claim_before_retirement": "Choose today or a later claim date: certificates are retired before the claim.",
    "claim_date_too_late": "Choose a claim date within a year of today.",
    "invalid_country": "Use the two-letter ISO country code, e.g. US or DE.",
    "invalid_subdivision": "Use the ISO 3166-2 code, e.g. US-CA, or leave it empty.",
    "subdivision_not_in_country": "Choose a subdivision of the claim's country, or leave it empty.",
    "invalid_period": "Give both days of the period, the last on or after the first.",
    "period_reversed": "Make the period's last day the same as or after its first day.",
    "period_too_long": "Shorten the claim period to at most a year.",
    "password_too_short": "Use at least 12 characters; a few unrelated words make a good password.",
    # Custody inputs and outputs (R-M2–R-M6) and the lot form's lines, splits and receipt citations (R-W2).
    "receipt_duplicate": "This supplier document is already received: check the reference, or leave it recorded.",
    "receipt_mismatch": "Enter the mass and claim exactly as the supplier recorded the sale, or ask them to correct it.",
    "supplier_certificate_required": "Give the supplier's RMS certificate number, or leave the claim empty for uncertified input.",
    "supplier_certificate_unknown": "Check the supplier's certificate number in the RMS certificates list, or record the input without a claim.",
    "supplier_certificate_mismatch": "Give the certificate the supplier holds.",
    "claim_exceeds_average": "Claim a percentage no higher than the account's average shown above, or record more certified input first.",
    "claim_exceeds_inputs": "Claim less: claims cannot exceed the certified input they rest on.",
    "claim_upgrade": "Pass the claim on as it arrived, or a lower one: claims are only ever downgraded.",
    "claim_system_mismatch": "Use the claim type of the account's control system (MB for mass balance, AC for average content).",
    "claim_not_whole_percent": "Write the claim's percentages as whole numbers, e.g. RMS 75% PC MB.",
    "before_account_start": "Choose a date on or after the account's start.",
    "out_of_order": "Date the event on or after the account's last event; a correction is a new event.",
    "facility_required": "Choose the site the event took place at.",
    "facility_not_in_account": "Choose one of the account's sites.",
    "product_group_mismatch": "Record outputs of the account's own product group; keep another product in its own account.",
    "batch_exceeded": "Record no more output than the batch's inputs; record the next batch's input first.",
    "custody_account_not_found": "Open the account from your custody page.",
    "unknown_material_code": "Use a code from RMS Table P4.1, e.g. PC_P3.1.9.",
    "invalid_certificate_number": "Copy the RMS certificate number as printed on the certificate.",
    "line_not_found": "Choose a production line of the lot's facility, or none.",
    "incomplete_split": "Give both the post-consumer and the post-industrial mass, or neither.",
    "split_mass_mismatch": "Make the post-consumer and post-industrial masses add up to the lot's mass.",
    "receipt_not_found": "Cite receipts of the custody account the lot is an output of.",
    "receipt_exceeded": "Cite no more of a receipt than it received; leave the mass empty to cite all of it.",
    "duplicate_receipt": "Cite each receipt once; put the part the lot used on one row.",
    "input_after_processing": "Cite only receipts received on or before the lot's processing date.",
    "input_not_receipt": "Cite the account's receipts instead of free-text inputs.",
}

#: (code, field) -> advice, where one code means different things on different fields (the field as the
#: service names it). Looked up before ADVICE.
FIELD_ADVICE: dict[tuple[str, str], str] = {
    ("certificate_invalid", "supplier_certificate"): "Check the receipt date: the supplier's certificate must be valid that day.",
    ("custody_account_required", "receipts"): "Choose the custody account whose receipts the lot cites.",
}


@dataclass(frozen=True)
class Refusal:
    code: str
    rule: str | None
    detail: str
    advice: str | None
    field: str | None

    @property
    def text(self) -> str:
        rule = f" ({self.rule})" if self.rule else ""
        return f"{self.detail}{rule}." if not self.advice else f"{self.detail}{rule}. {self.advice}"


def refusal(error: RegistryError) -> Refusal:
    detail = error.detail.rstrip(".")
    advice = FIELD_ADVICE.get((error.code, error.field or "")) or ADVICE.get(error.code)
    return Refusal(code=error.code, rule=error.rule, detail=detail, advice=advice, field=error.field)


def apply(form, error: RegistryError, fields: dict[str, str] | None = None, page: str | None = None) -> Refusal:
    """Show ``error`` on ``form``: on the field it names when the form has one, else above it.
    ``fields``: the form's name of an API field whose last part is not it (``period.from``);
    ``page``: the page's name in `PAGE_ADVICE`."""
    found = page_refusal(error, page)
    name = (fields or {}).get(found.field or "") or (found.field or "").split(".")[-1].split("[")[0]
    target = getattr(form, name, None) if name else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*list(target.errors or ()), found.text]
    else:
        form.form_errors.append(found.text)
    return found


#: (page, code) -> what to change, where a code means something else to the person on that page
#: (a generator is told to ask its certifier; the certifier is told what to do itself).
PAGE_ADVICE: dict[tuple[str, str], str] = {
    ("certifier", "determination_not_current"): "It was withdrawn or superseded already: reload the page to see its status.",
    ("certifier", "determination_not_found"): "Choose a determination listed on this page.",
    ("certifier", "custody_account_not_found"): "Open the account from a page that lists it: its participant's, or its certifier's.",
}


def page_refusal(error: RegistryError, page: str | None) -> Refusal:
    """``refusal(error)``, with the page's own advice where `PAGE_ADVICE` has one."""
    found = refusal(error)
    advice = PAGE_ADVICE.get((page, error.code)) if page else None
    return replace(found, advice=advice) if advice else found
