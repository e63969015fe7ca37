"""Bulk transfers and retirements (SPEC R-T7): up to 1 000 items in one
request, all or nothing in one transaction, one log entry per item, and one
statement for a bulk retirement. ``services`` holds them."""
