//! Cluster lints over several directors' configurations (lvslab's own advice; every finding is
//! a [`Severity::Note`](super::Severity::Note) in the CLI).
