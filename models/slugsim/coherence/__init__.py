"""CXL.cache coherence: the host home agent, device caches and the snoop filter, as tables.

Modules
-------
``table``       SLICC-style ``(state, event) -> Rule(actions, next)`` tables, Markdown rendering
``home``        :class:`HomeAgent` (CHA): cores in MESIF, inclusive snoop filter, every D2H opcode
``device``      :class:`DeviceCache`: a Type-1 (or host-bias Type-2) device cache, MESI + transients
``snoop_filter`` :class:`SnoopFilter`: sets/ways/sharer vectors, pLRU victims (the RTL's twin)
``latency``     ``ACTION_LATENCY_PS``: default time per action, with sources
``spec``        the CXL_REFERENCE.md §1.3-§1.5 legality tables the checkers use
``network``, ``system``, ``monitor``, ``checker``: the untimed system and its checks
``tester``, ``explorer``, ``scenario``, ``mutations``: random tester, exhaustive explorer,
directed scenarios, planted bugs; ``docs``: renders ``docs/coherence_tables.md``
``devmem_host``, ``dcoh`` (``dcoh_base``, ``dcoh_db``, ``dcoh_d``): device-attached memory
(docs/device_coherence.md): a host's side (:class:`HostMemAgent`), the HDM-DB device snoop
filter (:class:`DeviceSnoopFilter`: BISnp, BIConflict, several hosts) and the HDM-D bias
controller (:class:`BiasController`: flips);
``devmem``, ``devmem_scenario``, ``devmem_mutations``: their untimed system, scenarios, bugs

API for a timed wrapper
-----------------------
The controllers know nothing of time or of the simulator; a timed component owns one and
gives it three callables:

* ``HomeAgent(devices, cores, send, complete, snoop_filter=SnoopFilter(...),
  clean_evict="pull"|"drop", on_transition=None, on_write=None)``

  - ``send(device: int, msg)``: put an H2D message (:class:`~slugsim.cxl.H2DReq` snoop,
    :class:`~slugsim.cxl.H2DRsp`, :class:`~slugsim.cxl.H2DData`) on the link to ``device``.
    Snoops to one device must not overtake an earlier H2D Rsp to it (CXL_REFERENCE.md §1.1,
    snoop-pushes-GO): keep the two in one ordered queue, or hold H2D Req behind H2D Rsp;
  - ``complete(Completion(agent, op, value))``: a host core's operation finished;
  - ``receive(device, msg)``: hand it every D2H message from ``device``; it never refuses one
    (a request to a busy line waits inside, in order);
  - ``core_issue(core, Op(CoreOp.Load|Store|Evict, line, value))``: a host core's request.

* ``DeviceCache(device_id, send, complete, on_transition=None, on_write=None)``

  - ``send(msg)``: put a D2H message on the device's link (D2H Req/Rsp/Data are separate
    channels; within a channel keep order);
  - ``issue(Op(DeviceEvent.<op>, line, value)) -> bool``: start a program operation; False
    means the line has a request outstanding (retry later; ``can_issue`` asks first);
  - ``receive(msg) -> bool``: an H2D message; False means *stall* (a snoop waiting for the
    data of a granted read): leave it at the head of the H2D Req channel and offer it again
    after the next H2D Data to this device (``stalls(msg)`` asks first);
  - ``complete(Completion(agent, op, value))``: loads carry the value read.

* Timing: ``on_transition(Transition(agent, line, state, event, rule))`` is called for every
  rule fired, after its actions ran (their messages were sent through ``send`` in action
  order). Charge ``rule_latency_ps(kind, rule)`` or per action
  ``ACTION_LATENCY_PS[kind][action]`` (``kind`` is "home" or "device"; "host_mem",
  "dcoh_sf" and "dcoh_bias" for the device-memory controllers) — for example delay
  the messages the rule sent by the latency of the actions up to and including the sender.
  Addresses are line-aligned byte addresses (``line * 64``); data messages carry a value.
* Every action of :data:`HOME_TABLE` and :data:`DEVICE_TABLE` is a method of the controller
  with the same name, so a wrapper can also subclass and wrap single actions.
"""

from slugsim.coherence.controller import Transition
from slugsim.coherence.device import DEVICE_TABLE, DeviceCache, DeviceEvent, DeviceState
from slugsim.coherence.home import HOME_TABLE, CoreState, HomeAgent, HostEvent, HostState
from slugsim.coherence.latency import ACTION_LATENCY_PS, rule_latency_ps
from slugsim.coherence.ops import Completion, CoreOp, Op
from slugsim.coherence.snoop_filter import SfCounters, SfOp, SfResult, SnoopFilter, Victim
from slugsim.coherence.table import ProtocolError, Rule, RuleKind, Table

__all__ = [
    "ACTION_LATENCY_PS",
    "DEVICE_TABLE",
    "HOME_TABLE",
    "Completion",
    "CoreOp",
    "CoreState",
    "DeviceCache",
    "DeviceEvent",
    "DeviceState",
    "HomeAgent",
    "HostEvent",
    "HostState",
    "Op",
    "ProtocolError",
    "Rule",
    "RuleKind",
    "SfCounters",
    "SfOp",
    "SfResult",
    "SnoopFilter",
    "Table",
    "Transition",
    "Victim",
    "rule_latency_ps",
]
