"""Thin adapters: CLI, plots and (later) web, store and FHIR. No clinical logic lives here."""
