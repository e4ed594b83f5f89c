"""Articles, their immutable revisions and the comments on them."""
