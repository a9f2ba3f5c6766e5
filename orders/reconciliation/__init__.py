"""The daily close: statement sources (`sources`), building statements and resolving their differences,
closing and reopening days (`services`), and what finance sees of it (`selectors`)."""
