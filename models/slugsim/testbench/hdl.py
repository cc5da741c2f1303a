"""RTL introspection with pyverilog: parse every Verilog file, list modules, parameters and ports.

The port lists are what binds the RTL to Python: bus models find a stream by name prefix, the
waveform layout groups signals by interface, and ``check`` enforces the naming convention that
makes both work (STYLE.md): a stream ``<p>`` has ``<p>_valid`` and ``<p>_ready`` of opposite
directions; ``s_*`` streams are inputs (valid in, ready out), ``m_*`` outputs; a ``tap_*``
stream is observed, so both of its handshake signals are inputs.

    python -m slugsim.testbench.hdl rtl/common/*.v rtl/emc/*.v    # parse, check, print port lists
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
INCLUDE_DIRS = [
    ROOT / "rtl" / "include",
    ROOT / "rtl" / "emc",
    ROOT / "rtl" / "coherence",
    ROOT / "rtl" / "ats",
]


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # "input" | "output" | "inout"
    width: str  # "" for one bit, else "[msb:lsb]" as written

    @property
    def stream(self) -> str | None:
        """The stream prefix when this is a handshake or payload signal of a stream."""
        head, sep, _ = self.name.rpartition("_")
        return head if sep else None


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    parameters: tuple[str, ...]
    ports: tuple[Port, ...]

    def port(self, name: str) -> Port | None:
        return next((p for p in self.ports if p.name == name), None)

    def streams(self) -> dict[str, list[Port]]:
        """Ports grouped by stream prefix (every prefix that has a ``_valid``)."""
        prefixes = [p.name[: -len("_valid")] for p in self.ports if p.name.endswith("_valid")]
        groups: dict[str, list[Port]] = {prefix: [] for prefix in prefixes}
        for port in self.ports:
            for prefix in sorted(prefixes, key=len, reverse=True):
                if port.name.startswith(prefix + "_"):
                    groups[prefix].append(port)
                    break
        return groups


def parse(path: Path, defines: list[str] | None = None) -> list[Module]:
    """Every module in ``path`` (raises on a syntax error)."""
    from pyverilog.ast_code_generator.codegen import ASTCodeGenerator
    from pyverilog.vparser import ast as vast
    from pyverilog.vparser.parser import VerilogCodeParser

    codegen = ASTCodeGenerator()
    with tempfile.TemporaryDirectory(prefix="pyverilog-") as tmp:
        parser = VerilogCodeParser(
            [str(path)],
            # pyverilog's default is preprocess.output in the working directory, which two
            # parses at once (the RTL lint beside a test, under pytest -n) overwrite for each
            # other: each gets its own here.
            preprocess_output=str(Path(tmp) / "preprocess.output"),
            preprocess_include=[str(d) for d in INCLUDE_DIRS],
            preprocess_define=defines or [],
            outputdir=tmp,
            debug=False,
        )
        tree = parser.parse()
    modules = []
    for definition in tree.description.definitions:
        if not isinstance(definition, vast.ModuleDef):
            continue
        params = tuple(p.name for p in definition.paramlist.params for p in [p.list[0]])
        ports = []
        for item in definition.portlist.ports:
            if not isinstance(item, vast.Ioport):
                continue
            decl = item.first
            width = ""
            if decl.width is not None:
                msb = codegen.visit(decl.width.msb)
                lsb = codegen.visit(decl.width.lsb)
                width = f"[{msb}:{lsb}]"
            ports.append(Port(decl.name, type(decl).__name__.lower(), width))
        modules.append(Module(definition.name, path, params, tuple(ports)))
    return modules


def check(module: Module) -> list[str]:
    """Problems with the module's stream naming (empty when it follows the convention)."""
    problems = []
    for prefix, ports in module.streams().items():
        valid = module.port(f"{prefix}_valid")
        ready = module.port(f"{prefix}_ready")
        assert valid is not None
        where = f"{module.path.name}: {module.name}.{prefix}"
        if prefix.startswith("tap"):
            if ready is None or valid.direction != "input" or ready.direction != "input":
                problems.append(f"{where}: a tap observes, so _valid and _ready are inputs")
            continue
        if ready is None:
            problems.append(f"{where}: stream has _valid but no _ready")
            continue
        if valid.direction == ready.direction:
            problems.append(f"{where}: _valid and _ready must have opposite directions")
        if prefix == "s" or prefix.startswith("s_"):
            expect = "input"
        elif prefix == "m" or prefix.startswith("m_"):
            expect = "output"
        else:
            problems.append(f"{where}: stream prefix must start with s_, m_ or tap_")
            continue
        if valid.direction != expect:
            problems.append(f"{where}: _valid must be an {expect}")
        for port in ports:
            if port is ready:
                continue
            if port.direction != expect:
                problems.append(f"{where}: payload {port.name} must be an {expect}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Parse Verilog with pyverilog; check port names")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--quiet", action="store_true", help="print problems only")
    args = parser.parse_args(argv)
    problems: list[str] = []
    for path in args.files:
        try:
            modules = parse(path)
        except Exception as exc:  # pyverilog raises plain exceptions on syntax errors
            problems.append(f"{path}: pyverilog cannot parse it: {exc}")
            continue
        if not modules:
            problems.append(f"{path}: no module")
        for module in modules:
            if module.name != path.stem:
                problems.append(f"{path}: module {module.name} must live in {module.name}.v")
            problems += check(module)
            if not args.quiet:
                streams = ", ".join(module.streams()) or "-"
                print(f"{path}: {module.name} ({len(module.ports)} ports; streams: {streams})")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
