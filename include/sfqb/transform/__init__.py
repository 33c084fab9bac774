"""Pure pandas transforms shared by the areas: matching, change detection."""
