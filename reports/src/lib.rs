//! Event log → `report.md`, `timeline.svg`, `summary.json`; ipvsadm-style tables.
