"""Payments as people read them: the original design's transaction list and one payment with its attempts."""
