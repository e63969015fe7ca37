"""Retirement and claims (SPEC §10, R-R1–R-R4, RMS 8.8, 8.9).

A retirement takes certificates out of circulation for good, on behalf of a
beneficiary who makes a claim with them. The record is public (R-R2): anyone
can list it, read it and verify its chain-log entry offline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlmodel import select

from chainlog.keys import Signer
from registry import claim_details, claims, statements, transparency
from registry.actors import Actor
from registry.blocks import block_payload, link, split, stamp
from registry.db import UnitOfWork, is_postgres
from registry.errors import InvalidInput, NotFound, RuleViolation
from registry.holdings import MAX_LIMIT, Page, decode_cursor, encode_cursor
from registry.journal import record
from registry.notifications import announce
from registry.models import Block, Retirement
from registry.names import check_name, identity_key
from registry.transfers import check_movable, lock_for_move
from registry.units import Mass, format_milli


@dataclass(frozen=True)
class ProductClaim:
    """The product a ``product`` claim is made on (R-R3): its name and its
    composition by ARC type (masses in kg)."""

    name: str
    composition: tuple[claims.CompositionItem, ...]

    def to_json(self) -> dict:
        # Stored and published as the API takes it, masses in kg (R-U1).
        return {"name": self.name, "composition": [
            {"arc_type": item.arc_type, "mass": {"value": format_milli(item.mass_kg), "unit": "kg"}}
            for item in self.composition]}


def _product(raw: ProductClaim | Mapping | None) -> ProductClaim | None:
    """Accept a ProductClaim or the API's plain shape ``{name, composition:
    [{arc_type, mass}]}`` where a mass is a ``Mass`` or a Decimal of kg."""
    if raw is None:
        return None
    if isinstance(raw, ProductClaim):
        name, items = raw.name, raw.composition
    else:
        name = raw.get("name") or ""
        items = tuple(claims.CompositionItem(item["arc_type"], getattr(item["mass"], "kg", item["mass"]))
                      for item in raw.get("composition") or ())
    name = check_name("product.name", name)  # R-R5: no look-alike names, from the API or a domain caller
    if not name:
        raise InvalidInput("a product claim names the product", field="product.name",
                           code="product_name_required", rule="R-R3")
    return ProductClaim(name, items)


def _check_reporting_year(year: int, generation_year: int, retired_on: date) -> None:
    """R-R1 records a reporting year. It is refused before the certificates
    existed (generation year, R-G3) and after next year: a claim reported
    later than that would rest on certificates already out of their use
    period when the year began (R-E1)."""
    if not generation_year <= year <= retired_on.year + 1:
        raise InvalidInput(
            f"reporting_year must be between the generation year {generation_year} and "
            f"{retired_on.year + 1}, got {year}",
            field="reporting_year", code="invalid_reporting_year", rule="R-R1")


def _lock_product_claims(uow: UnitOfWork, beneficiary_key: str, product_key: str) -> None:
    """R-R3 under concurrency (R-T4): two retirements against the same
    product from different blocks must not both pass the mass check. On
    PostgreSQL a transaction-scoped advisory lock per (beneficiary, product)
    identity (R-R5) serialises them; SQLite already serialises writers
    (BEGIN IMMEDIATE)."""
    if not is_postgres(uow.session):
        return
    digest = hashlib.sha256(f"retirement\n{beneficiary_key}\n{product_key}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@dataclass(frozen=True)
class ProductYear:
    """What earlier retirements recorded for one beneficiary's product in one
    reporting year (R-R5): the certificates claimed per ARC type, and the mass
    per ARC type the product's composition was first stated with."""

    claimed: dict[str, Decimal]
    declared_kg: dict[str, Decimal]


def product_year(uow: UnitOfWork, *, beneficiary_key: str, product_key: str, reporting_year: int) -> ProductYear:
    """R-R5: retirements for the same beneficiary, product and reporting year
    add up; names compare by identity key; a new reporting year starts afresh."""
    rows = uow.session.exec(
        select(Retirement.arc_type, Retirement.quantity, Retirement.product)
        .where(Retirement.beneficiary_key == beneficiary_key, Retirement.reporting_year == reporting_year,
               Retirement.claim_type == "product", Retirement.product_key == product_key)
        .order_by(Retirement.id))
    claimed: dict[str, Decimal] = {}
    declared: dict[str, Decimal] = {}
    for arc_type, quantity, product in rows:
        claimed[arc_type] = claimed.get(arc_type, Decimal(0)) + quantity
        for type_, kg in stated_composition(product).items():
            declared.setdefault(type_, kg)
    return ProductYear(claimed, declared)


def stated_composition(product: Mapping | None) -> dict[str, Decimal]:
    """Mass in kg per ARC type of a recorded product (``ProductClaim.to_json``)."""
    totals: dict[str, Decimal] = {}
    for item in (product or {}).get("composition") or ():
        totals[item["arc_type"]] = totals.get(item["arc_type"], Decimal(0)) + Decimal(item["mass"]["value"])
    return totals


def _check_same_composition(claimed: ProductClaim, earlier: ProductYear) -> None:
    """R-R5: the composition is the product's material mass for the reporting
    year; restating it larger would lift the cap, so it must not change."""
    for type_, kg in claims.composition_by_type(claimed.composition).items():
        if type_ in earlier.declared_kg and earlier.declared_kg[type_] != kg:
            raise RuleViolation(
                f"this product's {type_} mass for the reporting year was stated as "
                f"{format_milli(earlier.declared_kg[type_])} kg, not {format_milli(kg)} kg",
                field="product.composition", code="composition_changed", rule="R-R5")


def retire(uow: UnitOfWork, actor: Actor, **request) -> Retirement:
    """Retire ``quantity`` of the actor's active block ``serial`` (R-R1): see `retire_block`."""
    return retire_block(uow, actor, **request)[0]


def retire_block(uow: UnitOfWork, actor: Actor, *, serial: str, quantity: Decimal, beneficiary: str,
                 claim_type: str, reporting_year: int, claim_date: date | None = None,
                 statement: str | None = None, basis_mass: Mass | None = None,
                 product: ProductClaim | Mapping | None = None, claimed_status: str | None = None,
                 label_approval_ref: str | None = None, location: Mapping | None = None,
                 period: Mapping | None = None,
                 bulk: dict | None = None) -> tuple[Retirement, Block, Block | None]:
    """Retire ``quantity`` of the actor's active block ``serial`` (R-R1).

    A partial retirement splits the block (R-T2): the lower serials are
    retired, the rest stays active with the owner. One ``block.retired``
    entry records it, in the caller's transaction (R-X3). ``bulk``: item
    ``{item, items}`` of a bulk retirement (R-T7, `registry.bulk.services`),
    recorded in the entry. Returns the record, the retired block and the
    remainder of a partial retirement."""
    claim_type = claims.check_claim_type(claim_type)
    beneficiary = check_name("beneficiary", beneficiary or "")  # R-R5: no look-alike names
    if not beneficiary:
        raise InvalidInput("a retirement names its beneficiary", field="beneficiary",
                           code="beneficiary_required", rule="R-R1")
    statement = (statement.strip() or None) if statement else None
    basis_kg = None if basis_mass is None else basis_mass.kg
    claimed = _product(product)
    where = claim_details.parse_location(location)  # R-R6: on behalf of a beneficiary, where and when
    when = claim_details.parse_period(period)
    claims.check_product_named(claim_type, claimed is not None)  # R-R3
    if claimed is not None:
        claims.composition_by_type(claimed.composition)  # bad input is a 400 before the block is read
    share = None if basis_kg is None else claims.claim_share(quantity, basis_kg)  # R-R4 helper
    status, reference = statements.product_claim_details(  # R-R8
        claim_type=claim_type, claimed_status=claimed_status, label_approval_ref=label_approval_ref)

    block, participants = lock_for_move(uow, actor, serial)  # R-X5: the owner (shared), then the block
    owner = check_movable(uow, actor, block, quantity, participants)  # R-P3, R-E1, R-T3
    retired_on = uow.clock.today()  # R-R1: the retirement date is today
    _check_reporting_year(reporting_year, block.generation_year, retired_on)
    claims.check_claim_date(claim_date, retired_on)  # R-R4: retire first, then claim
    statements.check_claim_date_within_year(claim_date, retired_on)  # R-R8
    statements.check_claimed_status(status, block.arc_code)  # R-R8
    beneficiary_key = identity_key(beneficiary)
    product_key = identity_key(claimed.name) if claimed is not None else None
    if claimed is not None:  # R-R5: per (beneficiary, product, reporting year) identity
        _lock_product_claims(uow, beneficiary_key, product_key)
        earlier = product_year(uow, beneficiary_key=beneficiary_key, product_key=product_key,
                               reporting_year=reporting_year)
        _check_same_composition(claimed, earlier)
        claims.check_product_claim(block.arc_type, quantity, claimed.composition,
                                   already_retired=earlier.claimed.get(block.arc_type, Decimal(0)))

    parent = link(block)
    if quantity == block.quantity:
        retired, remainder = block, None
    else:
        retired, remainder = split(uow, block, quantity)  # the lower serials are retired
    # RMS 8.8.3: final. lock_for_move refuses it from now on (block_not_active).
    retired.state = "retired"
    retired.updated_at = uow.clock.now()
    claim = {
        "type": claim_type,
        "reporting_year": reporting_year,
        "claim_date": claim_date.isoformat() if claim_date else None,
        "statement": statement,
        "basis_kg": format_milli(basis_kg) if basis_kg is not None else None,
        "claim_share": format(share, "f") if share is not None else None,
        "product": claimed.to_json() if claimed else None,
    }
    if status is not None:  # R-R8: only when stated, so earlier entries keep their shape
        claim["claimed_status"] = status.value
    if reference is not None:
        claim["label_approval_ref"] = reference
    if where is not None:  # R-R6: only when stated, so earlier entries keep their shape
        claim["location"] = where.to_json()
    if when is not None:
        claim["period"] = when.to_json()
    payload = {
        "parent": block.serial,
        "owner": owner.id,
        "quantity": format(quantity, "f"),
        "retired": block_payload(retired),
        "remainder": block_payload(remainder) if remainder else None,
        "beneficiary": beneficiary,
        "retired_on": retired_on.isoformat(),
        "claim": claim,
        "prev": parent,  # R-L2b: the parent's last entry
    }
    if bulk is not None:  # R-T7: only in bulk, so single retirements keep their shape
        payload["bulk"] = {"item": bulk["item"], "items": bulk["items"]}
    ref = record(uow, "block.retired", actor, payload)
    stamp([b for b in (retired, remainder) if b is not None], ref)
    retirement = Retirement(
        serial=retired.serial, owner_id=owner.id, quantity=retired.quantity, arc_code=retired.arc_code,
        arc_type=retired.arc_type, generation_year=retired.generation_year,
        generator_id=retired.generator_id, lot_reference=retired.lot_reference,
        first_unit=retired.first_unit, last_unit=retired.last_unit, beneficiary=beneficiary,
        beneficiary_key=beneficiary_key, product_key=product_key,
        claim_type=claim_type, reporting_year=reporting_year, claim_date=claim_date, statement=statement,
        basis_kg=basis_kg, claim_share=share, product=claim["product"], retired_on=retired_on,
        claimed_status=claim.get("claimed_status"), label_approval_ref=reference,
        **claim_details.location_columns(where), **claim_details.period_columns(when),
        bulk_id=None if bulk is None else ref.index - bulk["item"],  # R-T7: the index of item 0
        log_index=ref.index, leaf_hash=ref.leaf_hash, created_at=uow.clock.now())
    uow.session.add(retirement)
    announce.retired(uow, retirement, retired)  # R-N1: with its cause (flushed with it)
    return retirement, retired, remainder


def recorded_blocks(uow: UnitOfWork, retirement: Retirement) -> tuple[Block, Block | None]:
    """The retired block and, for a partial retirement, the remainder: the
    blocks the retirement's entry stamped (until the remainder moves on)."""
    retired = uow.session.get(Block, retirement.serial)
    remainder = uow.session.exec(
        select(Block).where(Block.log_index == retirement.log_index, Block.serial != retirement.serial,
                            Block.state == "active")).first()
    return retired, remainder


def retirements_query(*, beneficiary: str | None = None, year: int | None = None, arc_type: str | None = None,
                      columns: tuple = (), owner: int | None = None):
    """The SELECT of the public retirement list, unordered and unpaged:
    ``list_retirements`` pages it, the CSV export streams it (R-N3)."""
    query = select(*columns) if columns else select(Retirement)
    if beneficiary is not None:
        query = query.where(Retirement.beneficiary_key == identity_key(beneficiary))
    if year is not None:
        query = query.where(Retirement.reporting_year == year)
    if arc_type is not None:
        query = query.where(Retirement.arc_type == arc_type)
    if owner is not None:  # the participant that retired (a member's own list, R-N3)
        query = query.where(Retirement.owner_id == owner)
    return query


def list_retirements(uow: UnitOfWork, actor: Actor | None, *, beneficiary: str | None = None,
                     year: int | None = None, arc_type: str | None = None, limit: int = 100,
                     cursor: str | None = None) -> Page:
    """Public (R-R2): retirements by beneficiary (its R-R5 identity key, the
    same on SQLite and PostgreSQL: R-R8), reporting year and ARC type, oldest
    first, paginated with an opaque cursor."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit", code="out_of_range")
    query = retirements_query(beneficiary=beneficiary, year=year, arc_type=arc_type)
    if cursor is not None:
        query = query.where(Retirement.id > retirement_cursor(cursor))
    rows = list(uow.session.exec(query.order_by(Retirement.id).limit(limit + 1)))
    items = rows[:limit]
    return Page(items, encode_cursor(str(items[-1].id)) if len(rows) > limit else None)


def retirement_cursor(cursor: str) -> int:
    after = decode_cursor(cursor)
    if not (after.isascii() and after.isdigit()):  # "²".isdigit() is True
        raise InvalidInput("not a cursor from this API", field="cursor", code="invalid_cursor")
    return int(after)


def get_retirement(uow: UnitOfWork, actor: Actor | None, retirement_id: int) -> Retirement:
    """Public (R-R2): a retirement record by id."""
    retirement = uow.session.get(Retirement, retirement_id)
    if retirement is None:
        raise NotFound(f"no retirement {retirement_id}", code="retirement_not_found")
    return retirement


@dataclass(frozen=True)
class InclusionProof:
    """The retirement's log entry proven included in a signed checkpoint (R-R2, R-L3, R-L4)."""

    checkpoint: str  # the signed note text
    size: int
    index: int
    leaf_hash: str
    hashes: list[str]


def retirement_proof(uow: UnitOfWork, retirement: Retirement, signer: Signer, origin: str) -> InclusionProof:
    """An inclusion proof of the retirement's entry against a checkpoint
    covering every committed entry; it may sign and store a new checkpoint,
    so the caller commits."""
    return retirement_proofs(uow, [retirement], signer, origin)[0]


def retirement_proofs(uow: UnitOfWork, rows: list[Retirement], signer: Signer, origin: str) -> list[InclusionProof]:
    """Inclusion proofs of several retirements' entries against one checkpoint
    (a bulk retirement's statement, R-T7); the caller commits."""
    checkpoint = transparency.current_checkpoint(uow, signer, origin)
    out = []
    for retirement in rows:
        leaf, hashes = transparency.inclusion_proof(uow, retirement.log_index, checkpoint.size)
        out.append(InclusionProof(checkpoint.note, checkpoint.size, retirement.log_index, leaf.hex(),
                                  [h.hex() for h in hashes]))
    return out
