"""Human review on Argilla: push a seeded sample of a published dataset, pull the answers back.

`schemas` says what annotators see for each kind of dataset, `sampling` which rows they see,
`push` / `pull` talk to Argilla, `drops` turns discards into a list the next build excludes,
`arena` turns pairwise answers into Ebaluatoia battle records.
"""
