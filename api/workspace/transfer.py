"""The holder's transfer page (R-W3, R-T6, R-T7): one block, or many from a CSV upload with
a preview. The preview parses every line here (columns, numbers) and checks every item with
``bulk.preview_transfers`` — the transfer's own checks, read without a lock; the confirm posts
the items back and ``bulk.transfer_many`` checks them again under its locks, all or nothing.
Through the services the API uses, in the page's unit of work (``api.workspace.holder``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from flask import render_template, request
from sqlmodel import select
from wtforms.fields.choices import SelectChoice

from api.workspace import bp, messages, people
from api.workspace.forms.holder import MAX_CSV_BYTES, ConfirmForm, TransferForm, UploadForm
from api.workspace.holder import MEMBER, _block_choices, _pid
from registry import explorer, transfers
from registry.bulk import services as bulk
from registry.errors import RegistryError
from registry.models import Participant
from registry.offers import rules as offer_rules
from registry.units import parse_quantity

CSV_COLUMNS = ("serial", "quantity", "to_participant_id")


def _recipients(uow, person) -> list[Participant]:
    return list(uow.session.exec(select(Participant).where(Participant.status == "active",
                                                           Participant.id != _pid(person))
                                 .order_by(Participant.name, Participant.id)))


def _transfer_page(uow, person, status: int = 200, *, form=None, upload=None, preview=None, failure=None):
    form = form or TransferForm(formdata=None)
    form.serial.choices = _block_choices(uow, person)
    recipients = _recipients(uow, person)
    reviews = " — reviews incoming transfers"
    form.to_participant_id.choices = [SelectChoice(0, "Choose a participant")] + [
        SelectChoice(p.id, f"{p.name} ({p.country}), id {p.id}"
                     + (reviews if p.incoming_transfers == offer_rules.REVIEW else "")) for p in recipients]
    return render_template("workspace/transfer.html", person=person, section="transfer", form=form,
                           upload=upload or UploadForm(formdata=None), preview=preview, failure=failure,
                           columns=CSV_COLUMNS, max_items=bulk.MAX_ITEMS, recipients=recipients,
                           confirm=ConfirmForm(formdata=None)), status


def _done(uow, person, results: list[transfers.TransferResult], source: str):
    names = explorer.participant_names(uow, [r.offer.to_participant_id if r.offer else r.moved.owner_id
                                             for r in results])
    return render_template("workspace/transfer_done.html", person=person, section="transfer", results=results,
                           names=names, source=source)


@bp.get("/transfer")
@people.signed_in_page(MEMBER)
def transfer_page(uow, person):
    form = TransferForm(formdata=None, serial=request.args.get("serial", ""))
    return _transfer_page(uow, person, form=form)


@bp.post("/transfer")
@people.signed_in_page(MEMBER)
def transfer_one(uow, person):
    form = TransferForm()
    if not form.validate():
        return _transfer_page(uow, person, 400, form=form)
    try:
        result = transfers.transfer(uow, person.actor, serial=form.serial.data,
                                    quantity=parse_quantity(form.quantity.data).value,
                                    to_participant_id=form.to_participant_id.data)
    except RegistryError as error:
        uow.session.rollback()
        messages.apply(form, error)
        return _transfer_page(uow, person, error.status, form=form)
    return _done(uow, person, [result], "single")


@dataclass
class CsvLine:
    """One data line of an upload: its number in the file (the header is line 1)."""

    number: int
    serial: str
    quantity: str
    to_participant_id: str
    item: dict | None = None
    errors: list[str] = field(default_factory=list)
    recipient: Participant | None = None
    offer: bool = False


def read_transfer_csv(data: bytes) -> tuple[list[CsvLine], str | None]:
    """The upload's lines, each parsed or with its errors; or the file's own problem."""
    if len(data) > MAX_CSV_BYTES:
        return [], f"The file is larger than {MAX_CSV_BYTES // 1024} KB; split it into smaller files."
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], "The file is not UTF-8 text; save it from the spreadsheet as “CSV UTF-8”."
    rows = list(csv.reader(io.StringIO(text, newline="")))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        return [], "The file is empty."
    header = [cell.strip().lower() for cell in rows[0]]
    if header != list(CSV_COLUMNS):
        return [], (f"The first line must name the columns {','.join(CSV_COLUMNS)}, in that order; "
                    f"it reads {','.join(rows[0]) or 'nothing'}.")
    lines = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row] + [""] * (3 - len(row))
        line = CsvLine(number, *cells[:3])
        if len(row) > 3:
            line.errors.append(f"The line has {len(row)} cells, not 3.")
        if not line.serial:
            line.errors.append("The serial is missing.")
        try:
            quantity = parse_quantity(line.quantity).value
        except RegistryError as error:
            quantity = None
            line.errors.append(messages.refusal(error).text)
        recipient = int(line.to_participant_id) if line.to_participant_id.isdigit() else None
        if recipient is None:
            line.errors.append("The recipient is a participant's id, a whole number (see the list below).")
        if not line.errors:
            line.item = {"serial": line.serial, "quantity": quantity, "to_participant_id": recipient}
        lines.append(line)
    if not lines:
        return [], "The file has a header line but no transfers."
    if len(lines) > bulk.MAX_ITEMS:
        return [], f"The file has {len(lines)} transfers; at most {bulk.MAX_ITEMS} go in one upload."
    return lines, None


@bp.post("/transfer/preview")
@people.signed_in_page(MEMBER)
def transfer_preview(uow, person):
    upload = UploadForm()
    if not upload.validate():
        return _transfer_page(uow, person, 400, upload=upload)
    lines, problem = read_transfer_csv(upload.csv_file.data.read(MAX_CSV_BYTES + 1))
    if problem:
        upload.csv_file.errors = [problem]
        return _transfer_page(uow, person, 400, upload=upload)
    parsed = [line for line in lines if line.item is not None]
    if parsed:
        for line, check in zip(parsed, bulk.preview_transfers(uow, person.actor, [line.item for line in parsed])):
            if check.error is not None:
                line.errors.append(messages.refusal(check.error).text.removeprefix(f"items[{parsed.index(line)}]: "))
            else:
                line.recipient, line.offer = check.recipient, check.becomes_offer
    preview = SimpleNamespace(lines=lines, ok=all(not line.errors for line in lines),
                              refused=sum(1 for line in lines if line.errors),
                              total=sum((line.item["quantity"] for line in lines if line.item), Decimal(0)),
                              offers=sum(1 for line in lines if line.offer))
    # 200 either way: the preview itself succeeded, and reports each line (nothing was attempted).
    return _transfer_page(uow, person, preview=preview)


@bp.post("/transfer/bulk")
@people.signed_in_page(MEMBER)
def transfer_bulk(uow, person):
    serials, quantities, recipients = (request.form.getlist(name) for name in CSV_COLUMNS)
    numbers = request.form.getlist("line")
    if not serials or not (len(serials) == len(quantities) == len(recipients) == len(numbers)):
        return _transfer_page(uow, person, 400, failure="The confirmed list was incomplete; upload the file again.")
    try:
        items = [{"serial": s, "quantity": parse_quantity(q).value, "to_participant_id": int(r)}
                 for s, q, r in zip(serials, quantities, recipients, strict=True)]
        results = bulk.transfer_many(uow, person.actor, items=items)
    except ValueError:
        return _transfer_page(uow, person, 400, failure="The confirmed list was changed; upload the file again.")
    except RegistryError as error:
        uow.session.rollback()
        text = messages.refusal(error).text
        where = (error.field or "").split(".")
        if len(where) > 1 and where[0] == "items" and where[1].isdigit() and int(where[1]) < len(numbers):
            text = f"Line {numbers[int(where[1])]}: " + text.removeprefix(f"items[{where[1]}]: ")
        return _transfer_page(uow, person, error.status,
                              failure=f"Nothing was transferred. {text} Correct the file and upload it again.")
    return _done(uow, person, results, "bulk")
