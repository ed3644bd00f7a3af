"""Pure numerics: numpy/scipy in, arrays out. No I/O, no dates (time is float days)."""
