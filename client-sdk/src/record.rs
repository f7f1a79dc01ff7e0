//! TFRecord framing: the length-and-CRC envelope around every record of a tfevents file.
//!
//! A record is `u64 LE length` · `u32 LE masked_crc32c(length bytes)` · `data` ·
//! `u32 LE masked_crc32c(data)`. [`RecordReader`] reads records incrementally from a file that
//! may still be growing:
//!
//! - a partial record at the end is *unfinished*, not corrupt: the reader answers
//!   [`Next::NeedMore`] and resumes at the same byte once more bytes are fed;
//! - a damaged record (bad length CRC, bad data CRC, or an absurd length) is skipped by scanning
//!   forward, one byte at a time, to the next position where a whole record validates; the
//!   damaged region is counted in [`ReadStats`] and everything after it is kept;
//! - a length field is never trusted for an allocation: bytes are only ever buffered as they
//!   arrive, and a length above [`RecordReader::max_record_len`] is treated as corruption.

use std::io::{self, Read, Write};

/// Bytes before a record's data: the length and its masked CRC.
pub const HEADER_LEN: usize = 12;
/// Bytes after a record's data: the data's masked CRC.
pub const FOOTER_LEN: usize = 4;
/// Largest record the reader accepts by default (1 GiB). TensorBoard writers never come close;
/// a larger length is corruption.
pub const DEFAULT_MAX_RECORD_LEN: u64 = 1 << 30;

const MASK_DELTA: u32 = 0xA282_EAD8;

/// The masked CRC-32C (Castagnoli) that TFRecord stores: `((crc >> 15) | (crc << 17)) + 0xA282EAD8`.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Appends one framed record holding `data` to `out`.
pub fn encode_record(data: &[u8], out: &mut Vec<u8>) {
    let len = (data.len() as u64).to_le_bytes();
    out.reserve(HEADER_LEN + data.len() + FOOTER_LEN);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

/// Writes one framed record to `out` (three `write_all`s: use a buffered writer).
pub fn write_record(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let len = (data.len() as u64).to_le_bytes();
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(&len);
    header[8..].copy_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.write_all(&header)?;
    out.write_all(data)?;
    out.write_all(&masked_crc32c(data).to_le_bytes())
}

/// Writes framed records to any [`Write`]. Buffering is the caller's choice (wrap a file in a
/// `BufWriter`); each record is handed over in a single `write_all`.
#[derive(Debug)]
pub struct RecordWriter<W: Write> {
    inner: W,
    frame: Vec<u8>,
}

impl<W: Write> RecordWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            frame: Vec::new(),
        }
    }

    /// Frames and writes one record.
    pub fn write_record(&mut self, data: &[u8]) -> io::Result<()> {
        self.frame.clear();
        encode_record(data, &mut self.frame);
        self.inner.write_all(&self.frame)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Unwraps the underlying writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

/// What a [`RecordReader`] has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Records returned intact.
    pub records: u64,
    /// Damaged regions skipped. One region is almost always one damaged record.
    pub skipped_records: u64,
    /// Bytes skipped inside damaged regions.
    pub skipped_bytes: u64,
}

/// One step of [`RecordReader::next_record`].
#[derive(Debug, PartialEq, Eq)]
pub enum Next<'a> {
    /// An intact record; `offset` is where its header starts in the stream.
    Record {
        /// Stream offset of the record's first header byte.
        offset: u64,
        /// The record's payload (a serialized `Event` in a tfevents file).
        data: &'a [u8],
    },
    /// The buffered bytes end inside a record (or there are none): feed more and call again.
    /// Not an error: a writer may be mid-record.
    NeedMore,
}

/// Incremental TFRecord reader over bytes that are fed to it (see the module docs).
///
/// Offsets are absolute stream offsets: the reader can start anywhere (`with_offset`), which is
/// how a tailer resumes at a committed offset after a restart.
#[derive(Debug)]
pub struct RecordReader {
    buf: Vec<u8>,
    /// Index in `buf` of the first byte not yet consumed.
    start: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    max_record_len: u64,
    /// True while scanning through a damaged region.
    resyncing: bool,
    stats: ReadStats,
}

impl Default for RecordReader {
    fn default() -> Self {
        Self::new()
    }
}

/// How many bytes [`RecordReader::fill_from`] asks the source for at a time.
const READ_CHUNK: usize = 256 * 1024;

impl RecordReader {
    /// A reader at stream offset 0.
    pub fn new() -> Self {
        Self::with_offset(0)
    }

    /// A reader whose first fed byte is at stream offset `offset`.
    pub fn with_offset(offset: u64) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            offset,
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            resyncing: false,
            stats: ReadStats::default(),
        }
    }

    /// Sets the largest accepted record length; longer lengths count as corruption.
    pub fn max_record_len(mut self, max: u64) -> Self {
        self.max_record_len = max;
        self
    }

    /// Counts so far.
    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// Stream offset of the first byte not yet consumed: everything before it was returned or
    /// skipped. Resuming a new reader here continues exactly where this one stands.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes fed but not yet consumed (an unfinished record, or a damaged region being scanned).
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True while the reader is inside a damaged region, looking for the next intact record.
    pub fn is_resyncing(&self) -> bool {
        self.resyncing
    }

    /// Appends bytes to the buffer.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Reads up to one chunk from `src` into the buffer; returns the number of bytes read
    /// (0 at the current end of the source).
    pub fn fill_from(&mut self, src: &mut impl Read) -> io::Result<usize> {
        self.compact();
        let old_len = self.buf.len();
        self.buf.resize(old_len + READ_CHUNK, 0);
        let result = loop {
            match src.read(&mut self.buf[old_len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(old_len + n);
        result
    }

    /// Frees the buffer's spare memory, keeping only bytes not yet consumed (an unfinished
    /// record): a tailer calls it when a file goes quiet, so that thousands of idle files cost
    /// no read buffers.
    pub fn release_buffer(&mut self) {
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.shrink_to_fit();
    }

    /// Drops consumed bytes from the front of the buffer once they are the larger part.
    fn compact(&mut self) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// Returns the next intact record, skipping damaged ones, or [`Next::NeedMore`].
    pub fn next_record(&mut self) -> Next<'_> {
        loop {
            match self.check_at(self.start) {
                Check::Valid(data_len) => {
                    if self.resyncing {
                        self.resyncing = false;
                    }
                    let offset = self.offset;
                    let begin = self.start + HEADER_LEN;
                    self.consume(HEADER_LEN + data_len + FOOTER_LEN);
                    self.stats.records += 1;
                    return Next::Record {
                        offset,
                        data: &self.buf[begin..begin + data_len],
                    };
                }
                Check::Incomplete => return Next::NeedMore,
                Check::Invalid => {
                    if !self.resyncing {
                        self.resyncing = true;
                        self.stats.skipped_records += 1;
                        tracing::debug!(offset = self.offset, "damaged record; scanning forward");
                    }
                    self.consume(1);
                    self.stats.skipped_bytes += 1;
                }
            }
        }
    }

    /// Decides whether a whole, intact record starts at `buf[at]`.
    fn check_at(&self, at: usize) -> Check {
        let avail = &self.buf[at..];
        if avail.len() < HEADER_LEN {
            return Check::Incomplete;
        }
        let (len_bytes, rest) = avail.split_at(8);
        let len = u64::from_le_bytes(len_bytes.try_into().expect("split_at(8) gives 8 bytes"));
        let len_crc = u32::from_le_bytes(rest[..4].try_into().expect("header has 4 CRC bytes"));
        if masked_crc32c(len_bytes) != len_crc || len > self.max_record_len {
            return Check::Invalid;
        }
        // `len <= max_record_len`, which fits in usize on every platform we build for.
        let Ok(data_len) = usize::try_from(len) else {
            return Check::Invalid;
        };
        let total = HEADER_LEN + data_len + FOOTER_LEN;
        if avail.len() < total {
            return Check::Incomplete;
        }
        let data = &avail[HEADER_LEN..HEADER_LEN + data_len];
        let data_crc = u32::from_le_bytes(
            avail[HEADER_LEN + data_len..total]
                .try_into()
                .expect("footer has 4 bytes"),
        );
        if masked_crc32c(data) != data_crc {
            return Check::Invalid;
        }
        Check::Valid(data_len)
    }
}

enum Check {
    Valid(usize),
    Incomplete,
    Invalid,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(records: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            encode_record(r, &mut out);
        }
        out
    }

    fn read_all(reader: &mut RecordReader) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Next::Record { data, .. } = reader.next_record() {
            out.push(data.to_vec());
        }
        out
    }

    #[test]
    fn masked_crc_matches_known_vectors() {
        assert_eq!(masked_crc32c(&24u64.to_le_bytes()), 0x224b_7fa3);
        assert_eq!(masked_crc32c(b"\x1a\x11CRC test, one two"), 0x5794_d08a);
    }

    #[test]
    fn empty_input_needs_more() {
        let mut r = RecordReader::new();
        assert_eq!(r.next_record(), Next::NeedMore);
        assert_eq!(r.stats(), ReadStats::default());
    }

    #[test]
    fn truncated_tail_waits_then_resumes_at_the_same_byte() {
        let bytes = framed(&[b"first", b"second record"]);
        let cut = bytes.len() - 5;
        let mut r = RecordReader::new();
        r.feed(&bytes[..cut]);
        assert_eq!(read_all(&mut r), vec![b"first".to_vec()]);
        assert_eq!(r.offset(), (HEADER_LEN + 5 + FOOTER_LEN) as u64);
        assert_eq!(
            r.stats().skipped_records,
            0,
            "an unfinished tail is not corruption"
        );
        r.feed(&bytes[cut..]);
        assert_eq!(read_all(&mut r), vec![b"second record".to_vec()]);
        assert_eq!(r.offset(), bytes.len() as u64);
    }

    #[test]
    fn every_split_point_gives_the_same_records() {
        let bytes = framed(&[b"a", b"", b"ccc", &[7u8; 300]]);
        for cut in 0..=bytes.len() {
            let mut r = RecordReader::new();
            r.feed(&bytes[..cut]);
            let mut got = read_all(&mut r);
            r.feed(&bytes[cut..]);
            got.extend(read_all(&mut r));
            assert_eq!(got.len(), 4, "cut at {cut}");
            assert_eq!(r.stats().skipped_records, 0);
        }
    }

    #[test]
    fn damaged_middle_record_loses_only_that_record() {
        let records: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("record {i}").into_bytes())
            .collect();
        let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
        let mut bytes = framed(&refs);
        let rec_len = HEADER_LEN + records[25].len() + FOOTER_LEN;
        let start25: usize = records[..25]
            .iter()
            .map(|r| HEADER_LEN + r.len() + FOOTER_LEN)
            .sum();
        bytes[start25 + HEADER_LEN + 2] ^= 0xff; // damage record 25's data
        let mut r = RecordReader::new();
        r.feed(&bytes);
        let got = read_all(&mut r);
        let mut expected = records.clone();
        expected.remove(25);
        assert_eq!(got, expected);
        assert_eq!(r.stats().skipped_records, 1);
        assert_eq!(r.stats().skipped_bytes, rec_len as u64);
    }

    #[test]
    fn damaged_length_field_is_skipped() {
        let mut bytes = framed(&[b"one", b"two", b"three"]);
        bytes[HEADER_LEN + 3 + FOOTER_LEN] ^= 0x01; // second record's length
        let mut r = RecordReader::new();
        r.feed(&bytes);
        assert_eq!(read_all(&mut r), vec![b"one".to_vec(), b"three".to_vec()]);
        assert_eq!(r.stats().skipped_records, 1);
    }

    #[test]
    fn huge_length_with_valid_crc_is_corruption_not_an_allocation() {
        let len = (1u64 << 60).to_le_bytes();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&len);
        bytes.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
        bytes.extend_from_slice(&[0u8; 32]);
        encode_record(b"after", &mut bytes);
        let mut r = RecordReader::new();
        r.feed(&bytes);
        assert_eq!(read_all(&mut r), vec![b"after".to_vec()]);
        assert_eq!(r.stats().skipped_records, 1);
        assert!(
            r.buf.capacity() < 4096,
            "no allocation from the length field"
        );
    }

    #[test]
    fn releasing_the_buffer_keeps_an_unfinished_record() {
        let mut bytes = Vec::new();
        encode_record(b"first", &mut bytes);
        encode_record(b"second", &mut bytes);
        let cut = bytes.len() - 3;
        let mut r = RecordReader::new();
        r.fill_from(&mut &bytes[..cut]).unwrap();
        assert!(r.buf.capacity() >= READ_CHUNK);
        assert_eq!(read_all(&mut r), vec![b"first".to_vec()]);
        r.release_buffer();
        assert!(r.buf.capacity() < READ_CHUNK, "spare memory freed");
        r.feed(&bytes[cut..]);
        assert_eq!(read_all(&mut r), vec![b"second".to_vec()]);
        r.release_buffer();
        assert_eq!(r.buf.capacity(), 0, "nothing pending: no buffer at all");
        assert_eq!(r.offset(), bytes.len() as u64);
    }

    #[test]
    fn garbage_yields_nothing_and_no_panic() {
        let garbage: Vec<u8> = (0..10_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut r = RecordReader::new();
        r.feed(&garbage);
        assert!(read_all(&mut r).is_empty());
        assert!(
            r.pending_bytes() < HEADER_LEN,
            "ruled-out bytes are not kept"
        );
    }

    #[test]
    fn resumes_from_an_offset() {
        let bytes = framed(&[b"one", b"two"]);
        let second = HEADER_LEN + 3 + FOOTER_LEN;
        let mut r = RecordReader::with_offset(second as u64);
        r.feed(&bytes[second..]);
        match r.next_record() {
            Next::Record { offset, data } => {
                assert_eq!(offset, second as u64);
                assert_eq!(data, b"two");
            }
            Next::NeedMore => panic!("expected a record"),
        }
    }

    #[test]
    fn fill_from_reads_a_file_in_chunks() {
        let payload = vec![42u8; 3 * READ_CHUNK];
        let bytes = framed(&[&payload, b"tail"]);
        let mut src = io::Cursor::new(bytes);
        let mut r = RecordReader::new();
        let mut got = Vec::new();
        loop {
            got.extend(read_all(&mut r));
            if r.fill_from(&mut src).unwrap() == 0 {
                break;
            }
        }
        got.extend(read_all(&mut r));
        assert_eq!(got, vec![payload, b"tail".to_vec()]);
    }

    #[test]
    fn writer_output_reads_back() {
        let mut w = RecordWriter::new(Vec::new());
        w.write_record(b"x").unwrap();
        w.write_record(b"yz").unwrap();
        let mut r = RecordReader::new();
        r.feed(&w.into_inner());
        assert_eq!(read_all(&mut r), vec![b"x".to_vec(), b"yz".to_vec()]);
    }

    proptest! {
        #[test]
        fn round_trip_any_records_any_chunking(
            records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20),
            chunk in 1usize..64,
        ) {
            let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
            let bytes = framed(&refs);
            let mut r = RecordReader::new();
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                r.feed(piece);
                got.extend(read_all(&mut r));
            }
            prop_assert_eq!(got, records);
            prop_assert_eq!(r.offset(), bytes.len() as u64);
            prop_assert_eq!(r.stats().skipped_records, 0);
        }

        #[test]
        fn one_flipped_byte_costs_at_most_the_record_it_hits(
            records in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..100), 2..20),
            pos_seed in any::<usize>(),
            bit in 0u8..8,
        ) {
            let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
            let mut bytes = framed(&refs);
            let pos = pos_seed % bytes.len();
            bytes[pos] ^= 1 << bit;
            let mut r = RecordReader::new();
            r.feed(&bytes);
            let got = read_all(&mut r);
            // Every record except the one containing `pos` survives, in order.
            let mut start = 0;
            let mut hit = None;
            for (i, rec) in records.iter().enumerate() {
                let end = start + HEADER_LEN + rec.len() + FOOTER_LEN;
                if (start..end).contains(&pos) { hit = Some(i); }
                start = end;
            }
            let mut expected = records.clone();
            expected.remove(hit.expect("pos is inside some record"));
            prop_assert_eq!(got, expected);
            prop_assert_eq!(r.stats().skipped_records, 1);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            let mut r = RecordReader::new();
            r.feed(&bytes);
            let _ = read_all(&mut r);
            prop_assert!(r.offset() <= bytes.len() as u64);
        }
    }
}
