"""The decision log for auditors: filtered reading, CSV export, and verification of the hash chain."""
