"""The decision rules every policy shares (docs/decisions.md): sampling time, ADA by assay, infusion
reactions, disease activity, label limits, vial rounding, dates, the decision table, citations."""
