"""Reading a recording back, and refusing a bad one with a message that names the file.

Every check that fails raises ``RecordingError`` (the CLI prints it and exits 2), unless
``salvage`` is set: then a damaged or cut-off trace gives its valid prefix, a missing or
unreadable trace gives nothing, and ``Recording.losses`` says what was lost.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..emc.trace import Trace, TraceError, TraceWarning, read_trace
from .recorder import FORMAT, FORMAT_VERSION, MANIFEST, TOPOLOGY_COPY, sha256_of


class RecordingError(ValueError):
    """The recording cannot be used as it is (the message names the file and the fix)."""


@dataclass
class Recording:
    path: Path
    manifest: dict[str, Any]
    traces: dict[str, Trace]  # by component name; a salvaged recording may lack some
    losses: list[str] = field(default_factory=list)  # what --salvage gave up, one line each

    @property
    def topology_file(self) -> Path:
        return self.path / TOPOLOGY_COPY

    @property
    def cycle_ps(self) -> int:
        return int(self.manifest["emc"]["cycle"])

    @property
    def complete_before_ps(self) -> int | None:
        value = self.manifest["run"].get("complete_before_ps")
        return None if value is None else int(value)

    @property
    def names_by_pid(self) -> dict[int, str]:
        return {pid: name for name, pid in self.manifest["pids"].items()}


def _bad(where: Path, what: str, hint: str) -> RecordingError:
    return RecordingError(f"{where}: {what}\n  hint: {hint}")


def load_recording(path: str | Path, salvage: bool = False) -> Recording:
    path = Path(path)
    manifest_path = path / MANIFEST
    if not path.is_dir():
        raise _bad(path, "no such recording directory", "pass a directory written by --record")
    if not manifest_path.is_file():
        raise _bad(
            manifest_path,
            "missing: this is not a complete recording",
            "a run that crashed leaves no recording; record it again with 'slugsim run TOPO "
            "--record DIR'",
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError("not a slugsim recording manifest")
        emcs = manifest["emcs"]
        manifest["emc"]["cycle"], manifest["pids"], manifest["run"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise _bad(manifest_path, f"unreadable manifest ({err})", "the file is damaged") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise _bad(
            manifest_path,
            f"recording format version {manifest.get('format_version')!r}; this slugsim reads "
            f"{FORMAT_VERSION}",
            "replay it with the slugsim version that recorded it",
        )
    if manifest.get("slugsim_version") != __version__ and not salvage:
        raise _bad(
            manifest_path,
            f"recorded by slugsim {manifest.get('slugsim_version')}, this is {__version__}: "
            "the models may differ, so a replay may not reproduce it",
            "replay with the recording's slugsim version, or pass --salvage to replay anyway",
        )
    recording = Recording(path, manifest, {})
    topo = recording.topology_file
    want = manifest["topology"]["sha256"]
    if not topo.is_file():
        raise _bad(topo, "missing (the recording keeps a copy of its topology)", "record again")
    if sha256_of(topo) != want:
        raise _bad(
            topo,
            f"sha256 {sha256_of(topo)[:12]}... does not match the manifest's {want[:12]}...: "
            "the manifest belongs to another topology",
            "keep each recording's manifest.json and topology.yaml together",
        )
    for entry in emcs:
        name, trace_path = entry["component"], path / entry["trace"]
        trace = _read(trace_path, entry, want, recording, salvage)
        if trace is not None:
            recording.traces[name] = trace
    return recording


def _read(
    trace_path: Path, entry: dict[str, Any], sha: str, recording: Recording, salvage: bool
) -> Trace | None:
    expected = int(entry["records"])
    hint = "pass --salvage to replay the valid prefixes and report what was lost"
    if not trace_path.is_file():
        if not salvage:
            raise _bad(trace_path, f"missing trace ({expected:,} records)", hint)
        recording.losses.append(f"{trace_path}: missing: {expected:,} records lost")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TraceWarning)
            trace = read_trace(trace_path, warn=False)
    except TraceError as err:
        if not salvage:
            raise RecordingError(f"{err}\n  hint: {hint}") from None
        recording.losses.append(f"{str(err).splitlines()[0]}: {expected:,} records lost")
        return None
    recorded_on = trace.header.metadata.get("topology_sha256")
    if recorded_on != sha:
        raise _bad(
            trace_path,
            f"recorded on topology {str(recorded_on)[:12]}..., but the manifest is for "
            f"{sha[:12]}...",
            "this trace belongs to another recording; do not mix recordings",
        )
    if trace.problems or len(trace.records) != expected:
        why = trace.problems[0] if trace.problems else f"{trace_path}: record count differs"
        lost = expected - len(trace.records)
        if not salvage:
            raise RecordingError(
                f"{why} ({len(trace.records):,} of {expected:,} records readable)\n  hint: {hint}"
            )
        recording.losses.append(f"{why}: kept {len(trace.records):,}, lost {lost:,} records")
    return trace
