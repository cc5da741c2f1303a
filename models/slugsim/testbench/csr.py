"""A CSR master for blocks whose registers sit behind a request stream and a response stream.

Requests (``s_csr_write``, ``s_csr_addr``, ``s_csr_wdata`` + valid/ready) and responses
(``m_csr_rdata`` + valid/ready) are ordinary streams bound by prefix, one response per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cocotb.handle import SimHandleBase

from .beat import Beat
from .stream import StreamBus, StreamSink, StreamSource


@dataclass(slots=True)
class CsrRequest:
    write: int
    addr: int
    wdata: int = 0


@dataclass(slots=True)
class CsrResponse:
    rdata: int


class CsrMaster:
    """``await read(addr)`` / ``await write(addr, value)``; every write is logged with its time."""

    def __init__(
        self, dut: Any, clock: SimHandleBase, req_prefix: str = "s_csr", rsp_prefix: str = "m_csr"
    ) -> None:
        self.requests = StreamSource(
            StreamBus.from_prefix(dut, req_prefix, CsrRequest), clock, record=True
        )
        self.responses = StreamSink(StreamBus.from_prefix(dut, rsp_prefix, CsrResponse), clock)
        self.data_width = len(getattr(dut, f"{req_prefix}_wdata"))
        self.writes: list[Beat[CsrRequest]] = []  # accepted writes, with the accepting edge

    async def _access(self, request: CsrRequest) -> int:
        await self.requests.send(request)
        response = await self.responses.recv()
        if request.write:
            self.writes.append(self.requests.sent[-1])
        return int(response.rdata)

    async def read(self, addr: int) -> int:
        return await self._access(CsrRequest(write=0, addr=int(addr)))

    async def write(self, addr: int, value: int) -> None:
        if not 0 <= value < 1 << self.data_width:
            raise ValueError(f"CSR value {value:#x} does not fit in {self.data_width} bits")
        await self._access(CsrRequest(write=1, addr=int(addr), wdata=value))
