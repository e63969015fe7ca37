"""The statement of a bulk retirement (R-T7, R-R2): one printable page
listing every item, each with its chain-log proof against one signed
checkpoint."""

from __future__ import annotations

from flask import render_template

from api.context import read_unit_of_work, registry
from api.pages import bp
from api.pages.checkpoints import summary
from registry import explorer, retirements, statements
from registry.bulk import services
from registry.errors import NotFound


@bp.get("/retirements/bulk/<id:bulk_id>")
def bulk_statement(bulk_id):
    state = registry()
    with read_unit_of_work() as uow:
        try:
            rows = services.bulk_retirement(uow, bulk_id)
        except NotFound:
            return render_template("missing.html", what=f"bulk retirement {bulk_id}"), 404
        proofs = retirements.retirement_proofs(uow, rows, state.signer, state.config.log_origin)
        uow.commit()  # ends the read (a checkpoint may have been signed and stored)
        names = explorer.participant_names(uow, {r.generator_id for r in rows} | {r.owner_id for r in rows})
        uow.session.expunge_all()
    first = rows[0]
    total = sum((r.quantity for r in rows), start=type(first.quantity)(0))
    return render_template("bulk_statement.html", bulk_id=bulk_id, first=first, items=list(zip(rows, proofs)),
                           total=total, names=names, notice=statements.CREDITS_NOT_CONTENT,
                           headlines=[statements.headline_of(r) for r in rows],
                           checkpoint=summary(proofs[0].checkpoint), note=proofs[0].checkpoint,
                           api_url=f"/api/v1/retirements/bulk/{bulk_id}")
