"""Message legality: every CXL.cache message held against the spec tables as it travels.

The monitor watches the network (a probe, it changes nothing) and keeps its own record of each
request (by device and CQID), snoop (by device and UQID) and pull (by UQID). It raises
:class:`Violation` when a message breaks CXL_REFERENCE.md §1.3-§1.5:

- a request from a buried state its opcode does not allow;
- a response or GO state not legal for the request's opcode; data for a request without data;
  a second-phase response (GO-I of WrInv, ExtCmp) before the first;
- a snoop response not legal for the snoop, or to no snoop; data answering nothing;
- a GO while the device has a snoop to the line outstanding, or its response or data still in
  flight (S4 §3.2.5.2);
- a second snoop of one line to one device (§3.2.5.3); a snoop between the data and the GO of a
  request (§3.2.5.5); a snoop to a line with a WritePull outstanding.

It knows nothing of the controllers' tables, so a table bug cannot hide itself here.
"""

from __future__ import annotations

from collections.abc import Callable

from slugsim.coherence.spec import (
    DATA_REQUESTS,
    FIRST_RESPONSE,
    FORWARDING_RESPONSES,
    LEGAL_BURIED_STATE,
    LEGAL_GO_STATES,
    LEGAL_RESPONSES,
    LEGAL_SNOOP_RESPONSES,
    LINE_BYTES,
    PULLS,
)
from slugsim.cxl import (
    D2HData,
    D2HReq,
    D2HReqOpcode,
    D2HRsp,
    GOState,
    H2DData,
    H2DReq,
    H2DReqOpcode,
    H2DRsp,
    H2DRspOpcode,
    Message,
)

HOST = -1

# Responses that carry global observation (GO) for the rule "no GO while a snoop is pending".
_GO_LIKE = frozenset(
    {
        H2DRspOpcode.GO,
        H2DRspOpcode.GO_WRITEPULL,
        H2DRspOpcode.GO_WRITEPULL_DROP,
        H2DRspOpcode.FAST_GO_WRITEPULL,
        H2DRspOpcode.GO_ERR_WRITEPULL,
    }
)


def kind_name(kind: tuple[type, type, object]) -> str:
    """A ``SpecMonitor.seen`` entry as text: class and opcode (a GO with its state)."""
    cls, enum, detail = kind
    if enum is GOState:
        return f"{cls.__name__}.GO-{detail.name}"  # type: ignore[attr-defined]
    if enum is int:
        return f"{cls.__name__}.bogus" if detail else cls.__name__
    return f"{cls.__name__}.{detail.name}"  # type: ignore[attr-defined]


class Violation(AssertionError):
    """A checked rule was broken: ``kind`` names the rule, ``detail`` says how."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class _Request:
    __slots__ = ("data_sent", "line", "opcode", "responses")

    def __init__(self, opcode: D2HReqOpcode, line: int | None) -> None:
        self.opcode = opcode
        self.line = line
        self.responses: list[H2DRspOpcode] = []
        self.data_sent = False

    def copy(self) -> _Request:
        twin = _Request(self.opcode, self.line)
        twin.responses, twin.data_sent = list(self.responses), self.data_sent
        return twin

    @property
    def go_sent(self) -> bool:
        return any(r in _GO_LIKE for r in self.responses)

    def done(self) -> bool:
        op = self.opcode
        if op is D2HReqOpcode.RDCURR:
            return self.data_sent
        if op in DATA_REQUESTS:
            return self.data_sent and self.go_sent
        if op is D2HReqOpcode.WRINV:
            return H2DRspOpcode.GO in self.responses
        if op in (D2HReqOpcode.WOWRINV, D2HReqOpcode.WOWRINVF):
            return H2DRspOpcode.EXTCMP in self.responses
        return self.go_sent


class _Snoop:
    __slots__ = (
        "data_delivered",
        "data_due",
        "line",
        "opcode",
        "response_delivered",
        "response_sent",
    )

    def __init__(self, opcode: H2DReqOpcode, line: int) -> None:
        self.opcode = opcode
        self.line = line
        self.response_sent = False
        self.data_due = False
        self.response_delivered = False
        self.data_delivered = False

    def copy(self) -> _Snoop:
        twin = _Snoop(self.opcode, self.line)
        twin.response_sent, twin.data_due = self.response_sent, self.data_due
        twin.response_delivered, twin.data_delivered = self.response_delivered, self.data_delivered
        return twin


class SpecMonitor:
    """``state_of(device, line)`` gives a device's state name for the buried-state check
    (``line`` None: "I" if every line is I, as CacheFlushed requires)."""

    def __init__(self, state_of: Callable[[int, int | None], str]) -> None:
        self.state_of = state_of
        self.requests: dict[tuple[int, int], _Request] = {}
        self.snoops: dict[tuple[int, int], _Snoop] = {}
        self.pulls: dict[int, tuple[int, int | None]] = {}  # UQID -> (device, line)
        self.messages = 0
        self.seen: set[tuple[type, type, object]] = set()  # (class, opcode / GO state): coverage

    def seen_kinds(self) -> set[str]:
        return {kind_name(k) for k in self.seen}

    def clone(self, state_of: Callable[[int, int | None], str]) -> SpecMonitor:
        twin = SpecMonitor(state_of)
        twin.requests = {k: v.copy() for k, v in self.requests.items()}
        twin.snoops = {k: v.copy() for k, v in self.snoops.items()}
        twin.pulls = dict(self.pulls)
        twin.messages = self.messages
        twin.seen = set(self.seen)
        return twin

    # --- sends -------------------------------------------------------------------------------

    def on_send(self, src: int, dst: int, msg: Message) -> None:
        self.messages += 1
        opcode = getattr(msg, "opcode", None)
        if opcode is H2DRspOpcode.GO:
            opcode = GOState(msg.rsp_data & 0xF)  # type: ignore[attr-defined]
        elif opcode is None:
            opcode = getattr(msg, "bogus", 0)
        # the enum class goes in too: IntEnums of different classes compare equal by value
        self.seen.add((type(msg), type(opcode), opcode))
        if isinstance(msg, D2HReq):
            self._request(src, msg)
        elif isinstance(msg, H2DRsp):
            self._response(dst, msg)
        elif isinstance(msg, H2DData):
            self._data(dst, msg)
        elif isinstance(msg, H2DReq):
            self._snoop(dst, msg)
        elif isinstance(msg, D2HRsp):
            self._snoop_response(src, msg)
        elif isinstance(msg, D2HData):
            self._device_data(src, msg)

    def _request(self, device: int, msg: D2HReq) -> None:
        line = None if msg.opcode is D2HReqOpcode.CACHEFLUSHED else msg.addr // LINE_BYTES
        if (device, msg.cqid) in self.requests:
            raise Violation("cqid-reuse", f"dev{device} reused CQID {msg.cqid} while outstanding")
        buried = self.state_of(device, line)
        if buried not in LEGAL_BURIED_STATE[msg.opcode]:
            raise Violation(
                "buried-state",
                f"dev{device} sent {msg.opcode.name} for line {line} from state {buried}",
            )
        self.requests[(device, msg.cqid)] = _Request(msg.opcode, line)

    def _find_request(self, device: int, cqid: int, what: str) -> _Request:
        rec = self.requests.get((device, cqid))
        if rec is None:
            raise Violation("unknown-cqid", f"{what} to dev{device} for CQID {cqid}: no request")
        return rec

    def _response(self, device: int, msg: H2DRsp) -> None:
        rec = self._find_request(device, msg.cqid, "H2D Rsp")
        opcode = msg.opcode
        if opcode not in LEGAL_RESPONSES[rec.opcode]:
            raise Violation(
                "illegal-response", f"{opcode.name} answering {rec.opcode.name} of dev{device}"
            )
        if opcode is H2DRspOpcode.GO:
            state = GOState(msg.rsp_data & 0xF)
            if state not in LEGAL_GO_STATES[rec.opcode]:
                raise Violation(
                    "illegal-go", f"GO-{state.name} answering {rec.opcode.name} of dev{device}"
                )
        first = FIRST_RESPONSE.get(rec.opcode)
        if first is not None and opcode is not first and first not in rec.responses:
            # an error answer may stand in for the first response (§1.3: GO_ERR_WritePull for
            # WOWrInv, ExtCmp still following; WrInv's GO may carry Err after its WritePull)
            first = None if H2DRspOpcode.GO_ERR_WRITEPULL in (opcode, *rec.responses) else first
        if first is not None and opcode is not first and first not in rec.responses:
            raise Violation(
                "response-order", f"{opcode.name} before {first.name} for {rec.opcode.name}"
            )
        if opcode in _GO_LIKE and rec.line is not None:
            pending = self._pending_snoop(device, rec.line)
            if pending is not None:
                raise Violation(
                    "go-before-snoop-returns",
                    f"{opcode.name} to dev{device} for line {rec.line} while its "
                    f"{pending.opcode.name} is unresolved",
                )
        if opcode in PULLS:
            self.pulls[msg.rsp_data] = (device, rec.line)
        rec.responses.append(opcode)
        if rec.done():
            del self.requests[(device, msg.cqid)]

    def _data(self, device: int, msg: H2DData) -> None:
        rec = self._find_request(device, msg.cqid, "H2D data")
        if rec.opcode not in DATA_REQUESTS or rec.data_sent:
            raise Violation("illegal-data", f"H2D data answering {rec.opcode.name} of dev{device}")
        rec.data_sent = True
        if rec.done():
            del self.requests[(device, msg.cqid)]

    def _pending_snoop(self, device: int, line: int) -> _Snoop | None:
        for (dev, _), snoop in self.snoops.items():
            if dev == device and snoop.line == line:
                return snoop
        return None

    def _snoop(self, device: int, msg: H2DReq) -> None:
        line = msg.addr // LINE_BYTES
        if self._pending_snoop(device, line) is not None:
            raise Violation("two-snoops", f"second snoop of line {line} to dev{device}")
        if (device, msg.uqid) in self.snoops:
            raise Violation("uqid-reuse", f"UQID {msg.uqid} already snooping dev{device}")
        for dev, pulled in self.pulls.values():
            if pulled == line:
                raise Violation(
                    "snoop-during-writepull",
                    f"{msg.opcode.name} of line {line} while dev{dev}'s WritePull is pending",
                )
        for (dev, _), rec in self.requests.items():
            split = rec.opcode in DATA_REQUESTS and rec.opcode is not D2HReqOpcode.RDCURR
            if dev == device and rec.line == line and split and rec.data_sent != rec.go_sent:
                raise Violation(
                    "snoop-between-data-and-go",
                    f"{msg.opcode.name} to dev{device} between data and GO of {rec.opcode.name}",
                )
        self.snoops[(device, msg.uqid)] = _Snoop(msg.opcode, line)

    def _snoop_response(self, device: int, msg: D2HRsp) -> None:
        snoop = self.snoops.get((device, msg.uqid))
        if snoop is None or snoop.response_sent:
            raise Violation("unexpected-response", f"{msg.opcode.name} from dev{device}: no snoop")
        if msg.opcode not in LEGAL_SNOOP_RESPONSES[snoop.opcode]:
            raise Violation(
                "illegal-snoop-response",
                f"{msg.opcode.name} from dev{device} answering {snoop.opcode.name}",
            )
        snoop.response_sent = True
        snoop.data_due = msg.opcode in FORWARDING_RESPONSES

    def _device_data(self, device: int, msg: D2HData) -> None:
        snoop = self.snoops.get((device, msg.uqid))
        if snoop is not None and snoop.data_due:
            return
        pull = self.pulls.get(msg.uqid)
        if pull is None or pull[0] != device:
            raise Violation("unexpected-data", f"D2H data from dev{device} to UQID {msg.uqid}")

    # --- deliveries to the host --------------------------------------------------------------

    def on_deliver(self, src: int, dst: int, msg: Message) -> None:
        if isinstance(msg, D2HRsp):
            snoop = self.snoops[(src, msg.uqid)]
            snoop.response_delivered = True
            self._retire(src, msg.uqid, snoop)
        elif isinstance(msg, D2HData):
            snoop = self.snoops.get((src, msg.uqid))
            if snoop is not None and snoop.data_due and not snoop.data_delivered:
                snoop.data_delivered = True
                self._retire(src, msg.uqid, snoop)
            else:
                del self.pulls[msg.uqid]

    def _retire(self, device: int, uqid: int, snoop: _Snoop) -> None:
        if snoop.response_delivered and (not snoop.data_due or snoop.data_delivered):
            del self.snoops[(device, uqid)]

    def key(self) -> tuple[object, ...]:
        return (
            tuple(
                sorted(
                    (k, v.opcode, v.line, tuple(v.responses), v.data_sent)
                    for k, v in self.requests.items()
                )
            ),
            tuple(
                sorted(
                    (
                        k,
                        v.opcode,
                        v.line,
                        v.response_sent,
                        v.data_due,
                        v.response_delivered,
                        v.data_delivered,
                    )
                    for k, v in self.snoops.items()
                )
            ),
            tuple(sorted(self.pulls.items(), key=lambda kv: kv[0])),
        )
