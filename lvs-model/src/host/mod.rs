//! Linux host behaviour in front of smoltcp: Ethernet, ARP (arp_ignore, arp_announce, cache
//! update rules), addresses on `lo`.
