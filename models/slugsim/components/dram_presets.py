"""DRAM devices by speed bin: organisation and JEDEC timings for ``dram_timing.DramTiming``.

Every timing is kept in integer picoseconds. JEDEC states most of them as ``max(n nCK, t ns)``;
``jedec(n, ns, rate)`` resolves that for a data rate. Sources:

- DDR4: JEDEC JESD79-4 (DDR4 SDRAM), speed bin table for DDR4-2400 and the "Timing Parameters by
  Speed Bin" table; organisation of an 8 Gb x8 die (4 bank groups x 4 banks, 64 K rows, 1 KB
  page), as in Micron MT40A1G8 (8Gb DDR4 data sheet).
- DDR5: JEDEC JESD79-5 (DDR5 SDRAM), speed bins DDR5-4400B, DDR5-4800B, DDR5-6400B and the "Timing
  Parameters" tables; organisation of a 16 Gb x8 die (8 bank groups x 4 banks, 64 K rows, 1 KB
  page), as in Micron MT60B2G8 (16Gb DDR5 data sheet). A DDR5 DIMM channel is two independent
  32-bit sub-channels, each with BL16 (64 B per burst); ``subchannels = 2`` models them as two
  independent channels of 4 B, so a "channel" of the presets still moves data rate x 8 B.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_PS_PER_US_MT = 10**6  # ps per beat = 10**6 / (data rate in MT/s)


def clocks(n: float, rate: int) -> int:
    """``n`` clocks (nCK) in ps at ``rate`` MT/s (two beats per clock), rounded up."""
    return -(-round(n * 2 * _PS_PER_US_MT) // rate)


def jedec(n: int, ns: float, rate: int) -> int:
    """JEDEC's ``max(n nCK, ns)`` in ps at ``rate`` MT/s, in whole clocks as a controller
    programs it (nCK = ceil(t / tCK), JESD79-4/-5 rounding; 1e-6 absorbs float noise)."""
    tck_ns = 2000 / rate
    return clocks(max(n, math.ceil(ns / tck_ns - 1e-6)), rate)


@dataclass(frozen=True)
class DramDevice:
    """One speed bin and organisation. Times in ps; ``*_s``/``*_l``: different/same bank group."""

    name: str
    data_rate: int  # MT/s
    bus_bytes: int  # bytes per beat of one independent channel (sub-channel for DDR5)
    burst_length: int  # beats per burst: burst_length * bus_bytes = 64 B
    subchannels: int  # independent channels per (64-bit) channel
    bank_groups: int
    banks_per_group: int
    rows: int
    row_lines: int  # 64 B lines per row of one (sub-)channel: page size x chips / 64
    t_cl: int  # read CAS to first data
    t_cwl: int  # write CAS to first data
    t_rcd: int  # ACT to CAS
    t_rp: int  # PRE to ACT
    t_ras: int  # ACT to PRE
    t_rc: int  # ACT to ACT, same bank
    t_ccd_s: int  # CAS to CAS
    t_ccd_l: int
    t_rrd_s: int  # ACT to ACT, same rank
    t_rrd_l: int
    t_faw: int  # window holding at most four ACTs per rank
    t_wr: int  # end of write data to PRE (write recovery)
    t_wtr_s: int  # end of write data to read CAS
    t_wtr_l: int
    t_rtp: int  # read CAS to PRE
    t_rtw: int  # read CAS to write CAS (bus turnaround)
    t_rtrs: int  # data bus idle between bursts of different ranks
    t_rfc: int  # all-bank refresh: the rank is busy for this long
    t_refi: int  # mean interval between refreshes

    @property
    def burst(self) -> int:
        """Data bus time of one 64 B burst, ps (rounded up: the peak never exceeds the rating)."""
        return -(-self.burst_length * _PS_PER_US_MT // self.data_rate)

    @property
    def peak_bytes_per_s(self) -> float:
        """Peak bandwidth of one (64-bit) channel: all its sub-channels."""
        return self.data_rate * 10**6 * self.bus_bytes * self.subchannels


def _ddr4_2400() -> DramDevice:
    r = 2400
    cl, cwl = 17, 12  # JESD79-4 DDR4-2400T: CL 17; CWL 12 (1 tCK write preamble)
    return DramDevice(
        name="ddr4-2400",
        data_rate=r,
        bus_bytes=8,
        burst_length=8,  # BL8 on a 64-bit channel
        subchannels=1,
        bank_groups=4,  # 8 Gb x8: 4 BG x 4 banks (JESD79-4 addressing table; MT40A1G8)
        banks_per_group=4,
        rows=65536,  # 8 Gb x8: A[15:0] row address
        row_lines=128,  # 1 KB page x 8 chips = 8 KB per rank row
        t_cl=clocks(cl, r),
        t_cwl=clocks(cwl, r),
        t_rcd=clocks(17, r),  # DDR4-2400T tRCD 14.16 ns = 17 nCK
        t_rp=clocks(17, r),  # DDR4-2400T tRP 14.16 ns = 17 nCK
        t_ras=jedec(0, 32, r),  # tRAS min 32 ns
        t_rc=jedec(0, 32, r) + clocks(17, r),  # tRC = tRAS + tRP (46.16 ns)
        t_ccd_s=clocks(4, r),  # tCCD_S 4 nCK
        t_ccd_l=jedec(5, 5, r),  # tCCD_L max(5 nCK, 5 ns) = 6 nCK at 2400
        t_rrd_s=jedec(4, 3.3, r),  # tRRD_S (1 KB page) max(4 nCK, 3.3 ns)
        t_rrd_l=jedec(4, 4.9, r),  # tRRD_L (1 KB page) max(4 nCK, 4.9 ns)
        t_faw=jedec(20, 21, r),  # tFAW (1 KB page) max(20 nCK, 21 ns)
        t_wr=jedec(0, 15, r),  # tWR 15 ns
        t_wtr_s=jedec(2, 2.5, r),  # tWTR_S max(2 nCK, 2.5 ns)
        t_wtr_l=jedec(4, 7.5, r),  # tWTR_L max(4 nCK, 7.5 ns)
        t_rtp=jedec(4, 7.5, r),  # tRTP max(4 nCK, 7.5 ns)
        # Read to write CAS: RL + BL/2 + 2 - WL nCK (JESD79-4 read-to-write, 1 tCK preambles).
        t_rtw=clocks(cl + 4 + 2 - cwl, r),
        t_rtrs=clocks(2, r),  # rank-to-rank data bus switch, 2 nCK (controller setting)
        t_rfc=jedec(0, 350, r),  # tRFC1 for 8 Gb: 350 ns
        t_refi=jedec(0, 7800, r),  # tREFI 7.8 us (0-85 C)
    )


def _ddr5(rate: int, cl: int, rcd_ns: float, faw_nck: int) -> DramDevice:
    r = rate
    cwl = cl - 2  # JESD79-5: CWL = CL - 2
    return DramDevice(
        name=f"ddr5-{rate}",
        data_rate=r,
        bus_bytes=4,  # a 32-bit sub-channel
        burst_length=16,  # BL16 x 4 B = 64 B
        subchannels=2,
        bank_groups=8,  # 16 Gb x8: 8 BG x 4 banks (JESD79-5 addressing table; MT60B2G8)
        banks_per_group=4,
        rows=65536,
        row_lines=64,  # 1 KB page x 4 chips per sub-channel = 4 KB
        t_cl=clocks(cl, r),
        t_cwl=clocks(cwl, r),
        t_rcd=jedec(0, rcd_ns, r),
        t_rp=jedec(0, rcd_ns, r),  # the B bins have tRP = tRCD
        t_ras=jedec(0, 32, r),  # tRAS min 32 ns
        t_rc=jedec(0, 32, r) + jedec(0, rcd_ns, r),  # tRC = tRAS + tRP
        t_ccd_s=clocks(8, r),  # tCCD_S 8 nCK (= BL16 on the bus)
        t_ccd_l=jedec(8, 5, r),  # tCCD_L max(8 nCK, 5 ns)
        t_rrd_s=clocks(8, r),  # tRRD_S 8 nCK
        t_rrd_l=jedec(8, 5, r),  # tRRD_L max(8 nCK, 5 ns)
        t_faw=clocks(faw_nck, r),  # tFAW_1K (x8, 1 KB page)
        t_wr=jedec(0, 30, r),  # tWR 30 ns
        t_wtr_s=jedec(4, 2.5, r),  # tWTR_S max(4 nCK, 2.5 ns)
        t_wtr_l=jedec(16, 10, r),  # tWTR_L max(16 nCK, 10 ns)
        t_rtp=jedec(12, 7.5, r),  # tRTP max(12 nCK, 7.5 ns)
        # Read to write CAS: RL + BL/2 + 2 - WL nCK (read postamble/write preamble margin).
        t_rtw=clocks(cl + 8 + 2 - cwl, r),
        t_rtrs=clocks(2, r),
        t_rfc=jedec(0, 295, r),  # tRFC1 (all-bank) for 16 Gb: 295 ns
        t_refi=jedec(0, 3900, r),  # tREFI 3.9 us (normal refresh, <= 85 C)
    )


PRESETS: dict[str, DramDevice] = {
    "ddr4-2400": _ddr4_2400(),
    # JESD79-5 DDR5-4400B: CL 36, tRCD = tRP = 36 nCK (16.36 ns); tFAW_1K 32 nCK (gem5's
    # DDR5_4400_4x8, from Micron's DDR5 core data sheet: max(32 nCK, 14.545 ns)). Also what a
    # DDR5-4800B part (tAA = tRCD = tRP = 16 ns minimum, as the 4800 preset) runs at when the
    # host clocks it at 4400: ceil(16 ns / 0.4545 ns) = 36 nCK, CL rounded up to even.
    "ddr5-4400": _ddr5(4400, cl=36, rcd_ns=16.0, faw_nck=32),
    # JESD79-5 DDR5-4800B: CL 40, tRCD = tRP = 16 ns; tFAW_1K 32 nCK.
    "ddr5-4800": _ddr5(4800, cl=40, rcd_ns=16.0, faw_nck=32),
    # JESD79-5 DDR5-6400B: CL 52, tRCD = tRP = 16.25 ns; tFAW_1K 32 nCK.
    "ddr5-6400": _ddr5(6400, cl=52, rcd_ns=16.25, faw_nck=32),
}

PRESET_NAMES = tuple(PRESETS)


def preset(name: str) -> DramDevice:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown DRAM preset {name!r}; choose one of {', '.join(PRESET_NAMES)}"
        ) from None
