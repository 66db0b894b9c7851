//! The Linux kernel's IPVS: virtual services, schedulers, connection table, forwarding.
