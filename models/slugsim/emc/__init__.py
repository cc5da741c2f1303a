"""The External Memory Controller: the recorder of Slug Architecture, and its trace files."""

from .trace import Trace, TraceError, TraceHeader, TraceWarning, TraceWriter, read_trace

__all__ = ["Trace", "TraceError", "TraceHeader", "TraceWarning", "TraceWriter", "read_trace"]
