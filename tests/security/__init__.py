"""One regression test per security finding (issue 12), named after it."""
