"""Recording a run: EMC monitors on the chosen components, their traces and a manifest.

A recording is a directory::

    manifest.json       what was recorded: topology (file and sha256), seed, slugsim version,
                        EMC configuration, PBR IDs, how the run ended, and one entry per EMC
    topology.yaml       a copy of the topology file, so a replay needs nothing else
    emc/<name>.emc      one trace per EMC (``slugsim.emc.trace``, version 4: PIDs and the
                        CXL.mem coherence hint included)

It is written into a temporary sibling directory and renamed into place when the run has
ended, so a crash leaves no recording at all under the chosen name (the temporary directory
holds trace files that read as valid prefixes). The manifest is written last.

Each EMC is one ``EmcMonitorModel`` (``taps_every_channel``) fed by an ``EmcProbe`` on every
port of its component; the probe's port number is the port's index. Records leave the model's
bounded FIFO at ``emc.drain`` (0: as they come) into the trace writer, so a slow drain makes
the FIFO fill and the model drop and count records, as the RTL monitor does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..cxl import EmcRecord, Message, recordable_types
from ..emc.config import ENDPOINTS, SWITCH_PORTS, EmcConfig
from ..emc.csr import ADDR_MAX, COUNTER_WIDTH, EmcCsr, EmcParams, place_field
from ..emc.model import EmcMonitorModel
from ..emc.probe import EmcProbe
from ..emc.trace import (
    META_FIELD_LSB,
    META_VALUE_LSB,
    QUEUED_LSB,
    QUEUED_MAX,
    SNP_TYPE_LSB,
    TraceWriter,
    extension_of,
)
from ..kernel import ConfigurationError
from .ship import Shipper, is_log_traffic

FORMAT = "slugsim-recording"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TOPOLOGY_COPY = "topology.yaml"
TRACE_DIR = "emc"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def program(model: EmcMonitorModel, config: EmcConfig) -> None:
    """Write the configuration into the monitor's CSRs, as driver software would."""
    mask32 = (1 << 32) - 1
    model.csr_write(EmcCsr.ADDR_BASE_LO, config.addr_base & mask32 & ~0x3F)
    model.csr_write(EmcCsr.ADDR_BASE_HI, config.addr_base >> 32)
    model.csr_write(EmcCsr.ADDR_LIMIT_LO, config.addr_limit & mask32 & ~0x3F)
    model.csr_write(EmcCsr.ADDR_LIMIT_HI, config.addr_limit >> 32)
    model.csr_write(EmcCsr.OPCODE_MASK, config.opcode_mask)
    model.csr_write(EmcCsr.SAMPLE_PERIOD, config.sample_period)
    model.csr_write(EmcCsr.CTRL, place_field(1, "CTRL", "ENABLE"))


def _fast_specs() -> dict[type, tuple[int, str | None, str | None, str | None, bool, bool]]:
    """Per recordable message type: its channel; its tag, address and opcode fields; whether
    it carries MetaField/MetaValue and SnpType (the trace extension, ``slugsim.emc.trace``)."""
    return {
        cls: (
            int(cls.CHANNEL),  # type: ignore[arg-type]
            cls.TAG_FIELD,
            cls.ADDR_FIELD,
            cls.OPCODE_FIELD,
            cls.field_spec("meta_value") is not None,
            cls.field_spec("snp_type") is not None,
        )
        for cls in recordable_types()
    }


_LSB = {f.name: f.lsb for f in EmcRecord.FIELDS}
_LINE_MASK = (1 << next(f.width for f in EmcRecord.FIELDS if f.name == "addr")) - 1
_COUNTER_MASK = (1 << COUNTER_WIDTH) - 1


class ComponentEmc:
    """One EMC on a component: the monitor model, a probe per port, the FIFO drain, the trace.

    When the monitor records everything (window and opcode mask open, no sampling, a drain
    that keeps up, nothing shipped), its filter, sampler and FIFO cannot change a record, so
    ``fast`` packs the record word directly and counts SEEN and RECORDED as the model would
    (NOTE: measured: recording vistara_interleaved 9.4 -> 3.8 s wall, docs/record_replay.md;
    tests/test_record_replay.py checks both paths give the same traces and counters).
    """

    def __init__(self, name: str, config: EmcConfig, writer: TraceWriter) -> None:
        self.name = name
        self.config = config
        self.model = EmcMonitorModel(
            EmcParams(fifo_depth=config.fifo_depth), taps_every_channel=True
        )
        program(self.model, config)
        self.writer = writer
        self.fifo_ext: deque[int] = deque()  # the extension of each record in the FIFO
        self.drained_at = 0  # time up to which the drain has run
        self.probes: list[EmcProbe] = []
        self.written = 0
        self.shipper: Any = None  # a slugsim.record.ship.Shipper with emc.ship_to
        self.unshipped: str | None = None  # why an endpoint EMC with ship_to cannot ship
        self.log_filter = config.ship_to is not None
        self.fast = (
            config.addr_base == 0
            and config.addr_limit >= ADDR_MAX - 1
            and config.opcode_mask == 0xFFFF_FFFF
            and config.sample_period <= 1
            and config.drain == 0
            and config.ship_to is None
        )

    def tap(self, port: Any, number: int) -> None:
        probe = EmcProbe(self.model, number, self.config.cycle)
        self.probes.append(probe)
        port.add_probe(self._fast_observer(probe) if self.fast else self._observer(probe))

    def _fast_observer(self, probe: EmcProbe) -> Callable[[Any, Message, int, int], None]:
        specs = _fast_specs()
        counters = self.model.counters
        write = self.writer.write
        cycle, ts_mask = self.config.cycle, (1 << self.model.params.ts_width) - 1
        port_bits = probe.port_number << _LSB["port"]
        ch_lsb, op_lsb, dir_lsb = _LSB["channel"], _LSB["opcode"], _LSB["direction"]
        tag_lsb, addr_lsb = _LSB["tag"], _LSB["addr"]

        def observe(port: Any, msg: Message, direction: int, time: int) -> None:
            probe.offered += 1
            spec = specs.get(msg.__class__)
            if spec is None:
                probe.unrecordable += 1
                return
            probe.handed += 1
            channel, tag_field, addr_field, opcode_field, has_meta, has_snp = spec
            counters["SEEN"] = (counters["SEEN"] + 1) & _COUNTER_MASK
            counters["RECORDED"] = (counters["RECORDED"] + 1) & _COUNTER_MASK
            word = (
                ((time // cycle) & ts_mask)
                | channel << ch_lsb
                | (int(getattr(msg, opcode_field)) if opcode_field else 0) << op_lsb
                | int(direction) << dir_lsb
                | ((getattr(msg, tag_field) & 0xFFFF) if tag_field else 0) << tag_lsb
                | (((getattr(msg, addr_field) >> 6) & _LINE_MASK) if addr_field else 0) << addr_lsb
                | port_bits
            )
            ext = (getattr(msg, "spid", 0) or 0) | (getattr(msg, "dpid", 0) or 0) << 12
            if direction:  # egress: its wait at the port, from ready to its first flit
                queued = (time - port.tx.ready_at) // cycle
                if queued:
                    ext |= min(queued, QUEUED_MAX) << QUEUED_LSB
            if has_meta:
                ext |= msg.meta_field << META_FIELD_LSB | msg.meta_value << META_VALUE_LSB
                if has_snp:
                    ext |= msg.snp_type << SNP_TYPE_LSB
            write(word, ext)
            self.written += 1

        return observe

    def _observer(self, probe: EmcProbe) -> Callable[[Any, Message, int, int], None]:
        def observe(port: Any, msg: Message, direction: int, time: int) -> None:
            if self.log_filter and is_log_traffic(msg, self.config):
                return  # the EMCs' own log writes (slugsim.record.ship) are not recorded
            if self.config.drain:
                self.drain(time)
            record = probe(port, msg, direction, time)
            if record is not None:
                queued = (time - port.tx.ready_at) // self.config.cycle if direction else 0
                self.fifo_ext.append(extension_of(msg, queued))
            if not self.config.drain:
                self.drain_all()

        return observe

    def drain(self, now: int) -> None:
        """Records that left the FIFO by ``now``, one per ``drain``, go to the trace."""
        fifo = self.model.fifo
        if not fifo:
            self.drained_at = now
            return
        leave = (now - self.drained_at) // self.config.drain
        for _ in range(min(leave, len(fifo))):
            self._write(self.model.pop())
        self.drained_at = now if not fifo else self.drained_at + leave * self.config.drain

    def drain_all(self) -> None:
        while self.model.fifo:
            self._write(self.model.pop())

    def _write(self, record: EmcRecord) -> None:
        ext = self.fifo_ext.popleft()
        self.writer.write(record, ext)
        self.written += 1
        if self.shipper is not None:
            self.shipper.add(record, ext)

    def summary(self) -> dict[str, Any]:
        found = {
            "records": self.written,
            "counters": dict(self.model.counters),
            "unrecordable": sum(p.unrecordable for p in self.probes),
        }
        if self.shipper is not None:
            found["shipped"] = self.shipper.summary()
        if self.unshipped is not None:
            found["unshipped"] = self.unshipped
        return found


def chosen_components(graph: Any, config: EmcConfig) -> list[str]:
    """The component names ``config.at`` selects, in name order."""
    from ..contract import kinds

    specs = kinds()
    chosen: set[str] = set()
    for item in config.at:
        if item == ENDPOINTS:
            chosen |= {n for n, k in graph.nodes(data="kind") if not specs[k].forwards}
        elif item == SWITCH_PORTS:
            chosen |= {n for n, k in graph.nodes(data="kind") if specs[k].forwards}
        else:
            members = {n for n, g in graph.nodes(data="group") if n == item or g == item}
            if not members:
                raise ConfigurationError(
                    f"emc: at: no component or group named '{item}' (the fabric has "
                    f"{graph.number_of_nodes()} components)"
                )
            chosen |= members
    return sorted(chosen)


class Recorder:
    """Attaches EMCs to an elaborated system and writes the recording directory."""

    def __init__(
        self,
        out_dir: Path,
        system: Any,
        config: EmcConfig,
        topology: Path | None,
        strict_names: bool = True,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.system = system
        self.config = config
        self.topology = Path(topology) if topology is not None else None
        parent = self.out_dir.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.rec-", dir=parent))
        # mkdtemp makes the directory private (0700); give it the mode mkdir would have.
        umask = os.umask(0)
        os.umask(umask)
        self.tmp.chmod(0o777 & ~umask)
        self.emcs: dict[str, ComponentEmc] = {}
        try:
            (self.tmp / TRACE_DIR).mkdir()
            self.topology_sha = sha256_of(self.topology) if self.topology else ""
            for name in self._names(strict_names):
                self._attach(name)
        except BaseException:
            self.abort()
            raise

    def _names(self, strict: bool) -> list[str]:
        system, config = self.system, self.config
        try:
            return chosen_components(system.graph, config)
        except ConfigurationError:
            if strict:
                raise
            return chosen_components(
                system.graph,
                dataclasses.replace(
                    config,
                    at=tuple(
                        a
                        for a in config.at
                        if a in (ENDPOINTS, SWITCH_PORTS) or a in system.graph.nodes
                    ),
                ),
            )

    def _attach(self, name: str) -> None:
        component = self.system.components[name]
        ports = {}
        for attachment in component.attachments:
            number = int(attachment.port.name.lstrip("p"))
            ports[number] = attachment.peer
        meta = {
            "component": name,
            "kind": self.system.graph.nodes[name]["kind"],
            "pid": component.pid,
            "ports": {str(k): v for k, v in sorted(ports.items())},
            "topology_sha256": self.topology_sha,
        }
        writer = TraceWriter(
            self.tmp / TRACE_DIR / f"{name}.emc",
            name,
            self.config.cycle,
            metadata=meta,
            encoding=self.config.trace_format,
        )
        emc = ComponentEmc(name, self.config, writer)
        for attachment in component.attachments:
            emc.tap(attachment.port, int(attachment.port.name.lstrip("p")))
        target = self.config.ship_to
        if target is not None and component.pid is not None and name != target:
            if target not in self.system.components:
                raise ConfigurationError(f"emc: ship_to: no memory device named '{target}'")
            try:
                emc.shipper = Shipper(component, self.config)
            except ConfigurationError as exc:  # no route from it to the device: not shipped
                emc.unshipped = str(exc)
        self.emcs[name] = emc

    def finish(self, run: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
        """Flush every EMC, write the manifest, and rename the recording into place."""
        try:
            entries = []
            for name, emc in self.emcs.items():
                emc.drain_all()
                emc.writer.close()
                entries.append(
                    {
                        "component": name,
                        "kind": self.system.graph.nodes[name]["kind"],
                        "trace": f"{TRACE_DIR}/{name}.emc",
                        **emc.summary(),
                    }
                )
            if self.topology is not None:
                shutil.copyfile(self.topology, self.tmp / TOPOLOGY_COPY)
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "slugsim_version": __version__,
                "topology": {
                    "file": TOPOLOGY_COPY if self.topology is not None else None,
                    "source": str(self.topology) if self.topology is not None else None,
                    "sha256": self.topology_sha,
                },
                "seed": self.system.sim.seed,
                "run": run,
                "emc": dataclasses.asdict(self.config),
                "pids": dict(sorted(self.system.pids.items())),
                "hosts": host_slots(self.system),
                "emcs": entries,
                **(extra or {}),
            }
            text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
            (self.tmp / MANIFEST).write_text(text)
            from ..sim.runner import _swap_in

            _swap_in(self.tmp, self.out_dir.resolve())
        except BaseException:
            self.abort()
            raise
        return self.out_dir

    def abort(self) -> None:
        for emc in self.emcs.values():
            with contextlib.suppress(OSError, ValueError):
                emc.writer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def host_slots(system: Any) -> dict[str, dict[str, int]]:
    """Per host: its request slots (tags below this number are core requests; the others are
    writebacks and home-agent reads), from its parameters."""
    found = {}
    for name, data in system.graph.nodes(data=True):
        if data["kind"] != "host":
            continue
        params = data["params"]
        workload = params.workload
        if workload is None:
            slots = 0
        else:
            per_core = 1 if workload.kind == "pointer_chase" else params.outstanding
            slots = params.cores * per_core
        home = getattr(system.components[name], "home_agent", None) is not None
        found[name] = {"slots": slots, "pipeline_ps": params.llc_latency, "home_agent": home}
    return found


def run_info(stats: dict[str, Any], system: Any) -> dict[str, Any]:
    """How the run ended, and before which time its records are complete (a run stopped
    mid-instant, by a request budget or a stop time, has a partial last instant)."""
    stop = stats["run"]["stop"]
    now = system.sim.now
    return {
        "stop": stop,
        "sim_now_ps": now,
        "complete_before_ps": None if stop == "quiescent" else now,
        "requests": stats["run"]["requests"],
    }


def record_run(
    graph: Any,
    topology: Path,
    out_dir: Path,
    seed: int | None,
    progress: bool,
    console: Any = None,
    stats_dir: Path | None = None,
) -> dict[str, Any]:
    """``slugsim run TOPO --record DIR``: simulate with EMCs and write the recording (and,
    with ``stats_dir``, the usual outputs)."""
    from rich.console import Console

    from ..sim import elaborate, run_system, write_outputs
    from ..stats import print_summary

    config = graph.graph.get("emc") or EmcConfig()
    system = elaborate(graph, seed)
    recorder = Recorder(out_dir, system, config, topology)
    try:
        stats, _ = run_system(system, progress, Console(stderr=True) if progress else None)
    except BaseException:
        recorder.abort()
        raise
    recorder.finish(run_info(stats, system))
    if stats_dir is not None:
        write_outputs(Path(stats_dir), stats, system, graph)
    console = console or Console()
    print_summary(stats, console)
    total = sum(e.written for e in recorder.emcs.values())
    console.print(f"recorded {total:,} records from {len(recorder.emcs)} EMCs to {out_dir}/")
    return stats
