"""Pure numerics: numpy/scipy in, arrays out. No I/O, no dates (time is float days).

Model files are read by :mod:`ifxdose.domain.modelfiles`; core parses documents
(:mod:`ifxdose.core.pk.parse`) and computes. Array annotations: :mod:`ifxdose.core.types`.
"""
