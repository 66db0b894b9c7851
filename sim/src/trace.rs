//! What a run leaves behind: the JSON Lines event log, a pcap of every frame on the LAN, and a
//! digest over both: SHA-256 over the event log's bytes, the frame count and an XXH3-128 hash
//! of every frame with its timestamp. The digest proves two runs identical; it guards against
//! accidents, not adversaries, so the frames (hundreds of megabytes in a long run, where
//! SHA-256 cost ~6 % of the run) take the fast non-cryptographic hash.
//!
//! Frames are captured once, when a host puts them on its link (as `tcpdump` on the bridge would
//! see them), with nanosecond timestamps of simulated time.

use crate::event_log;
use lvs_model::event::Record;
use lvs_model::time::Instant;
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{Endianness, TsResolution};
use sha2::{Digest, Sha256};
use std::io::Write;
use xxhash_rust::xxh3::Xxh3;

/// Which outputs a run records. Each costs time; benchmarks turn them off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceConfig {
    /// Keep a pcap of every frame in memory.
    pub pcap: bool,
    /// Hash every frame into the run's digest.
    pub frame_digest: bool,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            pcap: true,
            frame_digest: true,
        }
    }
}

/// The in-memory trace of a run.
pub struct Trace {
    config: TraceConfig,
    records: Vec<Record>,
    pcap: Option<PcapWriter<Vec<u8>>>,
    frames: Xxh3,
    /// Frames (with their time and length) not hashed yet: hashing them 64 KiB at a time is
    /// several times cheaper than two small updates per frame, and gives the same hash.
    staged: Vec<u8>,
    frame_count: u64,
}

/// How many bytes of frames [`Trace`] collects before it hashes them.
const STAGE: usize = 64 * 1024;

/// The pcap header lvslab writes: Ethernet, nanosecond timestamps, little-endian.
pub fn pcap_header() -> PcapHeader {
    PcapHeader {
        version_major: 2,
        version_minor: 4,
        ts_correction: 0,
        ts_accuracy: 0,
        snaplen: 65535,
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::NanoSecond,
        endianness: Endianness::Little,
    }
}

impl Trace {
    pub fn new(config: TraceConfig) -> Self {
        let pcap = config
            .pcap
            .then(|| PcapWriter::with_header(Vec::new(), pcap_header()).expect("writing to a Vec"));
        Trace {
            config,
            records: Vec::new(),
            pcap,
            frames: Xxh3::new(),
            staged: if config.frame_digest {
                Vec::with_capacity(STAGE)
            } else {
                Vec::new()
            },
            frame_count: 0,
        }
    }

    pub fn record(&mut self, record: Record) {
        self.records.push(record);
    }

    /// Captures one frame leaving a host at `now`.
    pub fn frame(&mut self, now: Instant, frame: &[u8]) {
        self.frame_count += 1;
        if self.config.frame_digest {
            if self.staged.len() + 12 + frame.len() > STAGE {
                self.frames.update(&self.staged);
                self.staged.clear();
            }
            // Time and length go in as one 12-byte piece: one capacity check, not two.
            let mut head = [0u8; 12];
            head[..8].copy_from_slice(&now.as_nanos().to_le_bytes());
            head[8..].copy_from_slice(&(frame.len() as u32).to_le_bytes());
            self.staged.extend_from_slice(&head);
            self.staged.extend_from_slice(frame);
        }
        if let Some(w) = &mut self.pcap {
            capture(w, now, frame);
        }
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Moves the event records out (a finished run hands them to its caller without copying
    /// tens of megabytes). The digest then needs them back: [`Self::digest`] takes them.
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }

    pub fn frame_count(&self) -> u64 {
        self.frame_count
    }

    /// Takes the pcap file's bytes, if capture was on; capture stops here.
    pub fn take_pcap(&mut self) -> Option<Vec<u8>> {
        self.pcap.take().map(PcapWriter::into_writer)
    }

    /// The run's digest (see the module doc) over `records` (the run's event records: those
    /// still in the trace, or those [`Self::take_records`] gave out), as lowercase hex. The
    /// event log is hashed as it is serialized, never held whole in memory.
    pub fn digest(&self, records: &[Record]) -> String {
        let mut h = Sha256::new();
        h.update(b"events\0");
        // Lines are serialized into a buffer that is hashed 64 KiB at a time: the serializer
        // writes a few bytes per call, far too little to hash each piece on its own.
        let mut staged = Vec::with_capacity(STAGE + 4096);
        for r in records {
            event_log::write_line(r, &mut staged);
            if staged.len() >= STAGE {
                h.update(&staged);
                staged.clear();
            }
        }
        h.update(&staged);
        self.finish_digest(h)
    }

    /// [`Self::digest`] for a caller that already wrote the event log (`events` must be what
    /// [`write_events`] wrote for the run's records), so it is not serialized twice.
    pub fn digest_with(&self, events: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(b"events\0");
        h.update(events);
        self.finish_digest(h)
    }

    /// Adds the frames to a hash that already holds the event log.
    fn finish_digest(&self, mut h: Sha256) -> String {
        h.update(b"frames\0");
        h.update(self.frame_count.to_le_bytes());
        let mut frames = self.frames.clone();
        frames.update(&self.staged);
        h.update(frames.digest128().to_le_bytes());
        hex(&h.finalize())
    }
}

/// Writes records as JSON Lines, one object per line (see [`event_log`]), in 64 KiB writes.
pub fn write_events(records: &[Record], out: &mut impl Write) -> std::io::Result<()> {
    let mut staged = Vec::with_capacity(STAGE + 4096);
    for r in records {
        event_log::write_line(r, &mut staged);
        if staged.len() >= STAGE {
            out.write_all(&staged)?;
            staged.clear();
        }
    }
    out.write_all(&staged)
}

/// Writes one frame to the pcap. Out of line: benchmarks and long runs capture no pcap, and
/// inlined into [`Trace::frame`] it made the per-frame path larger for them.
#[cold]
#[inline(never)]
fn capture(w: &mut PcapWriter<Vec<u8>>, now: Instant, frame: &[u8]) {
    let ts = now.since_start();
    let packet = PcapPacket::new(ts, frame.len() as u32, frame);
    w.write_packet(&packet).expect("writing to a Vec");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvs_model::Event;

    /// Frames hashed in 64 KiB stages give the hash of hashing each frame as it comes.
    #[test]
    fn staged_frame_hash_is_the_plain_stream_hash() {
        let mut t = Trace::new(TraceConfig {
            pcap: false,
            frame_digest: true,
        });
        let mut plain = Xxh3::new();
        for i in 0..3_000u32 {
            let frame: Vec<u8> = (0..(i * 37 % 1_600) as usize)
                .map(|b| (b as u32 ^ i) as u8)
                .collect();
            let now = Instant::from_nanos(u64::from(i) * 1_000_003);
            t.frame(now, &frame);
            plain.update(&now.as_nanos().to_le_bytes());
            plain.update(&(frame.len() as u32).to_le_bytes());
            plain.update(&frame);
        }
        let mut h = Sha256::new();
        h.update(b"events\0");
        h.update(b"frames\0");
        h.update(3_000u64.to_le_bytes());
        h.update(plain.digest128().to_le_bytes());
        let expected = hex(&h.finalize());
        assert_eq!(t.digest(&[]), expected);
        assert_eq!(t.digest_with(b""), expected);
    }

    #[test]
    fn pcap_has_nanosecond_magic_and_records() {
        let mut t = Trace::new(TraceConfig::default());
        t.frame(Instant::from_nanos(1_000_000_123), &[0xff; 60]);
        let bytes = t.take_pcap().unwrap();
        assert_eq!(&bytes[..4], &0xa1b2_3c4du32.to_le_bytes());
        // Record header: seconds 1, nanoseconds 123, lengths 60/60.
        assert_eq!(&bytes[24..28], &1u32.to_le_bytes());
        assert_eq!(&bytes[28..32], &123u32.to_le_bytes());
        assert_eq!(bytes.len(), 24 + 16 + 60);
    }

    /// The streamed digest equals the one over the written event log, across many stages.
    #[test]
    fn streamed_event_digest_is_the_written_log_digest() {
        let mut t = Trace::new(TraceConfig::default());
        for i in 0..5_000u64 {
            t.record(Record::new(
                Instant::from_nanos(i * 7_919),
                format!("node-{}", i % 3),
                Event::Drop {
                    reason: "x".repeat((i % 97) as usize),
                },
            ));
            t.frame(Instant::from_nanos(i), &[i as u8; 80]);
        }
        let mut log = Vec::new();
        write_events(t.records(), &mut log).unwrap();
        assert!(log.len() > 4 * STAGE);
        assert_eq!(t.digest(t.records()), t.digest_with(&log));
        let records = t.take_records();
        assert!(t.records().is_empty());
        assert_eq!(t.digest(&records), t.digest_with(&log));
    }

    #[test]
    fn digest_changes_with_events_and_frames() {
        let mut a = Trace::new(TraceConfig::default());
        let d0 = a.digest(a.records());
        a.record(Record::new(
            Instant::ZERO,
            "n",
            Event::Garp {
                ip: [10, 0, 0, 1].into(),
            },
        ));
        let d1 = a.digest(a.records());
        a.frame(Instant::ZERO, &[1, 2, 3]);
        let d2 = a.digest(a.records());
        assert!(d0 != d1 && d1 != d2 && d0 != d2);
        assert_eq!(d2.len(), 64);
    }
}
