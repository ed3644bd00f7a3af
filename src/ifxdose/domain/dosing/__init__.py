"""Dosing in the clinic's units: the label's rules (``label``), vials (``vials``), drug cost
(``cost``), infusion dates (``calendar``) and the regimen language (``regimen``)."""
