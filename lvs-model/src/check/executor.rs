//! Driver-side probe executor over smoltcp (next step).
