"""A provenance proof's upstream (R-L6, R-M6): the earlier entries a lot entry links to (an
input's ``log`` link ``{index, leaf_hash}``: a custody receipt) and the check that a proof's
``upstream`` holds exactly those entries. Pure; `chainlog.provenance` checks their inclusion first."""

from __future__ import annotations

from .chain import parse_lineage_link
from .errors import VerificationError


def upstream_links(lot_payload: dict) -> list[tuple[int, bytes]]:
    """The earlier entries a lot entry links to: each input's ``log`` link (index, leaf hash), in order."""
    links = []
    inputs = lot_payload.get("inputs")
    for item in inputs if isinstance(inputs, list) else ():
        if isinstance(item, dict) and "log" in item:
            try:
                links.append(parse_lineage_link(item["log"]))
            except VerificationError as exc:
                raise VerificationError(f"the lot's input link: {exc}", kind=exc.kind, index=None) from None
    return links


def match_upstream(lot: dict, found: dict[int, tuple[dict, bytes]]) -> tuple[dict, ...]:
    """The entries the lot cites, in its order, from ``found`` (index -> (entry, leaf hash), each
    already included in the checkpoint): each one present and the one linked, nothing else."""
    links = upstream_links(lot["payload"])
    out = []
    for index, leaf_hash in links:
        if index not in found:
            raise VerificationError(f"the lot cites entry {index}; the proof does not hold it",
                                    kind="upstream_missing", index=lot["index"])
        obj, leaf = found[index]
        if leaf != leaf_hash or index >= lot["index"]:
            raise VerificationError(f"entry {index} is not the one the lot cites ({leaf_hash.hex()[:16]}…)",
                                    kind="chain_broken", index=index)
        out.append(obj)
    extra = sorted(set(found) - {index for index, _ in links})
    if extra:
        raise VerificationError(f"upstream entries the lot does not cite: {extra}", kind="malformed", index=None)
    return tuple(out)
