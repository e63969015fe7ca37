"""Exports and account statements (R-N3, R-N4).

- `streams`: the participant lists (blocks, retirements, holdings) as row
  streams read with a server-side cursor (`yield_per`), so a CSV export of
  any size holds one batch in memory at a time.
- `movements`: what one log entry moves in or out of a participant's
  holdings — the one place that reads certificate movements from the log.
- `account_statement`: a participant's statement for a period, from the log
  alone: opening holdings, every movement with its log index, closing
  holdings, by ARC type and vintage.
"""
