"""Approvals: requests, votes, the mails they owe, and the Redis queue that moves them."""
