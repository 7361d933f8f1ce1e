"""The trail outside the database: anchors of the decision log's head on chain and in a file, and the audit
that checks the log against them."""
