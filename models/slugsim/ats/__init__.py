"""Address translation: the device's ATS Address Translation Cache (ATC)."""

from slugsim.ats.atc import (
    Atc,
    AtcCounters,
    AtcOutputs,
    AtcOverflow,
    AtcRequest,
    AtcResponse,
    InvalidateCompletion,
    InvalidateRequest,
    InvalidationDone,
    InvSize,
    Status,
    Translation,
    TranslationCompletion,
    TranslationRequest,
    TreePlru,
)

__all__ = [
    "Atc",
    "AtcCounters",
    "AtcOutputs",
    "AtcOverflow",
    "AtcRequest",
    "AtcResponse",
    "InvSize",
    "InvalidateCompletion",
    "InvalidateRequest",
    "InvalidationDone",
    "Status",
    "Translation",
    "TranslationCompletion",
    "TranslationRequest",
    "TreePlru",
]
