"""Field mappings: default maps as data files (one per pair and direction), applied by one
function. Only field-to-field copies (docs/rules.md section 7); anything computed (a street made of
address lines, an address block) is a column the extract's normalisation derives first.
"""
