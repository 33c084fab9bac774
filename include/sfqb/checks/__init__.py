"""great-expectations checks: the preflight validations of the org (SPEC section 1) and the
data-quality expectations on what the areas extract. GX is imported only inside tasks."""
