//! Wire formats smoltcp lacks, in smoltcp's `Packet<T>` + `Repr` style.
pub mod vrrp;
