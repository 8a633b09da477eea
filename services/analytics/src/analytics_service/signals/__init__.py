"""Momentum and alerts: FanPulse's momentum index, value score and spike detection applied to a
tenant's daily series (campaign revenue and installs, branch revenue, item views), computed by
SQL functions on schedules and on demand, with alerts listed and acknowledged."""
