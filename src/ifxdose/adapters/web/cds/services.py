"""The services ifxdose offers (the discovery document) and their prefetch templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ifxdose.app.exchange import observation_codes

ORDER_SELECT = "ifxdose-infliximab-order-select"
ORDER_SIGN = "ifxdose-infliximab-order-sign"
LEVEL_DUE = "ifxdose-level-due"
PREFETCH_KEYS = ("patient", "observations", "administrations", "statements")


def prefetch_templates() -> dict[str, str]:
    patient = "{{context.patientId}}"
    return {
        "patient": f"Patient/{patient}",
        "observations": f"Observation?patient={patient}&code={','.join(observation_codes())}",
        "administrations": f"MedicationAdministration?patient={patient}",
        "statements": f"MedicationStatement?patient={patient}",
    }


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str

    @property
    def orders(self) -> bool:
        return self.hook in ("order-select", "order-sign")

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": prefetch_templates(),
            "usageRequirements": "Prefetch is required unless the patient is in the ifxdose clinic database "
            "under context.patientId: ifxdose never calls out to a FHIR server.",
        }


_ORDER_TEXT = (
    "For a draft infliximab MedicationRequest: the recommended dose and interval for rheumatoid "
    "arthritis, with the probability of a trough at target, the predicted trough, the yearly cost "
    "and a suggestion replacing the draft with the proposed order."
)
SERVICES: dict[str, Service] = {
    s.id: s
    for s in (
        Service(ORDER_SELECT, "order-select", "ifxdose infliximab dose (order selected)", _ORDER_TEXT),
        Service(ORDER_SIGN, "order-sign", "ifxdose infliximab dose (order signed)", _ORDER_TEXT),
        Service(
            LEVEL_DUE,
            "patient-view",
            "ifxdose infliximab trough level due",
            "A card when the next infliximab infusion is within a week and no trough level has been "
            "measured since the last infusion (maintenance phase).",
        ),
    )
}


def discovery() -> dict[str, Any]:
    return {"services": [s.discovery() for s in SERVICES.values()]}
