"""Offers: receiver acceptance of incoming transfers (SPEC R-T6).

* ``models``   — the ``offer`` table (migration 0020);
* ``rules``    — pure rules: the setting's values, the lapse date, when an
  offer may be accepted and when it lapses (shared with replay);
* ``services`` — make an offer (from ``registry.transfers.transfer``),
  accept, reject, withdraw, list and read offers, change the setting;
* ``lapse``    — the daily job that lapses offers (R-E2's lock and catch-up).

A participant whose ``incoming_transfers`` is ``review`` receives transfers
as offers: the quantity is split off into a held block (state ``offered``,
still owned by the sender, which neither party can move or retire) until the
recipient accepts it (it moves to the recipient), rejects it, the sender
withdraws it, or it lapses (it returns to the sender, serial range as it
was). Every step is one log entry in the same transaction; replay
(`registry.replay.offers`) re-derives the offers and the blocks.

Import the services from ``registry.offers.services``; this package imports
nothing so that ``registry.models`` can load the table without a cycle.
"""
