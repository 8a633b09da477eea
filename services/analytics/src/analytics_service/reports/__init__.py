"""Reports by email: each branch's daily sales report, sent to the branch's recipients through
the tenant's own SMTP server by a queued job that records a state per recipient."""
