"""The treasury at a glance: balance, burn, runway and what needs attention; the latest decisions."""
