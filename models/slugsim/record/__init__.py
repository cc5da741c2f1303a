"""Record and replay: EMC recordings of a run (``recorder``), reading them back and refusing
bad ones (``recording``), re-driving endpoints from their traces (``player``, ``replay``), and
comparing recordings (``analysis``). See docs/record_replay.md."""
