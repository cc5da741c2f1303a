"""The device coherence engine (DCOH) of device-attached memory, as tables.

Two controllers, one per memory type (CXL_REFERENCE.md §2.5, §3):

- :class:`DeviceSnoopFilter` (**HDM-DB**, ``DEVICE_SF_TABLE``): an inclusive, finite device
  snoop filter (the :class:`SnoopFilter` structure, a sharer bit per host, so one filter serves
  a pooled device shared by several hosts) with I/S/A or I/A states per line (§3.2). Host M2S
  requests are granted from it; a request whose set is full first back-invalidates the pLRU
  victim (BISnpInv to each sharer) and waits for the way; the device's own accesses that hit a
  line a host may cache send BISnpData/Cur/Inv first. While a BISnp to X is pending, M2S Req to
  X wait at the head of their channel (the blocking rule); RwD (MemWr, BIConflict) is always
  taken. A BIConflict is answered with BI-ConflictAck on NDR behind any earlier Cmp.
  With ``device_cache`` the device also caches its own memory (a Type-2 HDM-DB device) and
  host requests snoop that copy by their SnpType.
- :class:`BiasController` (**HDM-D**, ``BIAS_TABLE``): a bias bit per page (``page_lines``
  lines, a parameter) looked up through a finite bias cache; device accesses in device bias
  complete in the device (in its own cache), in host bias through the host (D2H RdCurr/WOWrInv,
  completed by MemRdFwd/MemWrFwd); a host->device flip sends RdOwnNoData per line and turns
  device bias only when every MemRdFwd completion is back; device->host is a state change
  (plus writing back the device's own cached lines, which is internal). A host M2S request to
  a device-bias page makes the DCOH flush its own copies and flip the page to host bias (the
  host "may be forced to relinquish" is the other way round: here the device does); one that
  meets a flip in progress spoils it (the page stays host bias). Flips are software-directed
  (program operations) and, with the ``predictor`` policy, hardware-autonomous: a page whose
  device accesses went through the host ``threshold`` times in a row is flipped.

Both own the device memory (a value per line) and serve host reads from it (Cmp-S/E + MemData)
and host writes into it (MemWr -> Cmp). The transaction-level twin of the RTL,
``dcoh_bias.py``, has the same rules (victim first, flip done at the last completion, one
request waiting for a victim blocks the others); this one adds the host-side messages.
"""

from slugsim.coherence.dcoh_base import DeviceMemoryBase, DevOp
from slugsim.coherence.dcoh_d import BIAS_TABLE, BiasController, BiasEvent, BiasState, Page
from slugsim.coherence.dcoh_db import (
    DB_BUSY,
    DB_SNOOPING,
    DEVICE_SF_TABLE,
    DeviceSnoopFilter,
    SfEvent,
    SfLine,
    SfState,
)

__all__ = [
    "BIAS_TABLE",
    "DB_BUSY",
    "DB_SNOOPING",
    "DEVICE_SF_TABLE",
    "BiasController",
    "BiasEvent",
    "BiasState",
    "DevOp",
    "DeviceMemoryBase",
    "DeviceSnoopFilter",
    "Page",
    "SfEvent",
    "SfLine",
    "SfState",
]
