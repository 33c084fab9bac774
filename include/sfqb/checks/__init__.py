"""great-expectations checks: the preflight validations of the org (docs/rules.md section 1) and the
data-quality expectations on what the areas extract. GX is imported only inside tasks."""
