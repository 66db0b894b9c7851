//! keepalived 2.2.7's VRRP as a sans-IO state machine.
