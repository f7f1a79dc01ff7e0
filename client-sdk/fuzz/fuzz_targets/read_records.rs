//! Fuzz target: arbitrary bytes through the record reader (fed in arbitrary pieces) and the
//! event decoder. Nothing may panic, allocate from a length field, or lose track of offsets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runboard_sdk::event::EventDecoder;
use runboard_sdk::record::{Next, RecordReader, encode_record};

fuzz_target!(|data: &[u8]| {
    // The first byte picks a mode and the piece size bytes are fed in.
    let Some((&control, bytes)) = data.split_first() else {
        return;
    };
    let mut decoder = EventDecoder::new();
    if control & 1 == 1 {
        // The bytes as one record's payload: the decoder sees arbitrary protobuf directly (random
        // bytes rarely pass a CRC), and framing must round-trip it exactly.
        let _ = decoder.decode(bytes);
        let mut framed = Vec::new();
        encode_record(bytes, &mut framed);
        let mut reader = RecordReader::new();
        reader.feed(&framed);
        match reader.next_record() {
            Next::Record { offset, data } => assert!(offset == 0 && data == bytes),
            Next::NeedMore => panic!("a framed record must read back"),
        }
        return;
    }
    let piece = usize::from(control >> 1).max(1);
    let mut reader = RecordReader::new().max_record_len(1 << 20);
    let mut last_offset = 0;
    for chunk in bytes.chunks(piece) {
        reader.feed(chunk);
        while let Next::Record { offset, data } = reader.next_record() {
            assert!(offset >= last_offset, "records come in stream order");
            last_offset = offset;
            let _ = decoder.decode(data);
        }
    }
    assert_eq!(reader.offset() + reader.pending_bytes() as u64, bytes.len() as u64);
});
