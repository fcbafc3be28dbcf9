"""The `magpie` kind: instruction/response conversations generated with Magpie's pre-query templates.

`templates` (family table), `recipe` (`MagpieRecipe`), `stages` (generation steps), `filters`,
`schema` (published row), `plan` (stages and card context for the build runner).
"""
