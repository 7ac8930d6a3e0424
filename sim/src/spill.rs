//! The plan of a population spilled to a temporary file a day at a time, so
//! that [`crate::generate::PlanWindows`] draws the whole plan once and gives
//! it back a bounded window of days at a time.
//!
//! The format is derived data that lives as long as its [`Spill`], never a
//! record: each planned request is one JSON value (its draw ordinal, its
//! instant and its step, the command in the wire form `events-schema`
//! defines), the requests of one day buffered in the order drawn and written
//! as zstd chunks at the end of an unnamed temporary file, which the system
//! removes when it is closed, after a crash too. The chunks of a day are
//! listed in memory in the order written; reading a day decodes its chunks
//! in that order, so a day comes back in the order it was drawn.
//!
//! JSON rather than a binary encoding: a command decodes strictly through a
//! JSON-shaped value (`events-schema`'s `strict`), which takes an id as a
//! string; CBOR, not human-readable to serde, writes ids as bytes, which it
//! refuses. Compressed, the field names cost little.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::event::SettlementChannel;
use navigo_events_schema::types::{PaymentRequest, ReasonCode, YearMonth};
use navigo_events_schema::CommandEnvelope;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::plan::{Intent, Step};

/// Bytes of buffer (the capacity of every day's buffer) the spill holds
/// while the generator runs, whatever the region's size: every day's
/// buffered requests are written out when they fill half of it, or when the
/// buffers' capacity would pass it.
pub const SPILL_BUFFERED_BYTES_MAX: usize = 32 << 20;

/// zstd's level for the chunks: the fast end, since a chunk is written once
/// and read once.
const ZSTD_LEVEL: i32 = 1;

/// Why a spilled plan could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    /// The temporary file could not be created, written or read.
    #[error("the plan's temporary file in {}: {source}", dir.display())]
    Io {
        /// The directory of the temporary file.
        dir: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// What was read back is not what was written.
    #[error("the plan's temporary file: the requests of {day}, chunk {chunk}: {why}")]
    Corrupt {
        /// The day whose requests do not decode.
        day: NaiveDate,
        /// The chunk of that day, from 0.
        chunk: usize,
        /// What does not decode.
        why: String,
    },
}

/// One planned request as spilled: the ordinal of its draw (its key), its
/// instant and its step.
#[derive(Serialize, Deserialize)]
struct Spilled {
    ordinal: u64,
    at: DateTime<Utc>,
    #[serde(with = "StepDef")]
    step: Step,
}

/// [`Step`]'s spilled form (serde's `remote`: the simulator's types carry
/// no serde of their own).
#[derive(Serialize, Deserialize)]
#[serde(remote = "Step")]
enum StepDef {
    Command(Box<CommandEnvelope>),
    Intent(#[serde(with = "IntentDef")] Intent),
}

/// [`Intent`]'s spilled form.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Intent")]
enum IntentDef {
    RejectDebit {
        contract_id: Uuid,
        month: YearMonth,
        reason_code: ReasonCode,
    },
    SettleDebt {
        contract_id: Uuid,
        via: SettlementChannel,
    },
    PayCash {
        contract_id: Uuid,
    },
    CashRenewal {
        contract_id: Uuid,
        switch_to: Option<PaymentRequest>,
    },
    BackOffice {
        seed: u64,
    },
}

/// Where a chunk of a day's requests lies in the file.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    offset: u64,
    /// Compressed bytes.
    len: u32,
    /// Encoded bytes, before compression.
    raw_len: u32,
    requests: u32,
}

/// One day's requests: the chunks written, and those still buffered.
#[derive(Debug, Default)]
struct Day {
    requests: usize,
    chunks: Vec<Chunk>,
    buffered: Vec<u8>,
    buffered_requests: u32,
}

/// A plan being spilled, then read back a day at a time.
pub struct Spill {
    file: File,
    /// Where the file is, for the errors.
    dir: PathBuf,
    buffered_bytes_max: usize,
    /// The end of the file: where the next chunk goes.
    len: u64,
    days: BTreeMap<NaiveDate, Day>,
    /// The capacity of every day's buffer.
    buffered_bytes: usize,
    /// The requests' bytes in every day's buffer.
    buffered_len: usize,
    compressor: zstd::bulk::Compressor<'static>,
    decompressor: zstd::bulk::Decompressor<'static>,
    /// The first failure: the spill stops writing, and [`Spill::finish`]
    /// says why.
    failed: Option<SpillError>,
}

impl Spill {
    /// An empty spill over a new unnamed temporary file in `dir`, buffering
    /// at most `buffered_bytes_max` bytes of requests (at least one request)
    /// before it writes.
    ///
    /// # Errors
    /// [`SpillError::Io`] when the file cannot be created.
    pub fn new_in(dir: &Path, buffered_bytes_max: usize) -> Result<Spill, SpillError> {
        let file = tempfile::tempfile_in(dir).map_err(|source| SpillError::Io {
            dir: dir.to_owned(),
            source,
        })?;
        Spill::over(file, dir, buffered_bytes_max)
    }

    /// An empty spill over `file`, an empty file open for reading and
    /// writing in `dir`.
    fn over(file: File, dir: &Path, buffered_bytes_max: usize) -> Result<Spill, SpillError> {
        let io = |source| SpillError::Io {
            dir: dir.to_owned(),
            source,
        };
        let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(io)?;
        // A chunk changed on disk is then refused by its checksum, not decoded.
        compressor.include_checksum(true).map_err(io)?;
        let decompressor = zstd::bulk::Decompressor::new().map_err(io)?;
        Ok(Spill {
            file,
            dir: dir.to_owned(),
            buffered_bytes_max,
            len: 0,
            days: BTreeMap::new(),
            buffered_bytes: 0,
            buffered_len: 0,
            compressor,
            decompressor,
            failed: None,
        })
    }

    /// Adds a request of `day`, drawn `ordinal`-th. After a failure nothing
    /// more is written (the failure is [`Spill::finish`]'s answer).
    pub fn push(&mut self, day: NaiveDate, ordinal: u64, at: DateTime<Utc>, step: Step) {
        if self.failed.is_some() {
            return;
        }
        let d = self.days.entry(day).or_default();
        let (before, len_before) = (d.buffered.capacity(), d.buffered.len());
        let spilled = Spilled { ordinal, at, step };
        if let Err(e) = serde_json::to_writer(&mut d.buffered, &spilled) {
            self.failed = Some(SpillError::Corrupt {
                day,
                chunk: d.chunks.len(),
                why: format!("a request does not encode: {e}"),
            });
            return;
        }
        d.requests += 1;
        d.buffered_requests += 1;
        self.buffered_bytes += d.buffered.capacity() - before;
        self.buffered_len += d.buffered.len() - len_before;
        if self.buffered_len > self.buffered_bytes_max / 2
            || self.buffered_bytes > self.buffered_bytes_max
        {
            self.write_buffered();
        }
    }

    /// Writes every day's buffered requests as a chunk at the end of the file.
    fn write_buffered(&mut self) {
        for d in self.days.values_mut() {
            if d.buffered.is_empty() || self.failed.is_some() {
                continue;
            }
            let requests = std::mem::take(&mut d.buffered_requests);
            let written = write_chunk(
                &mut self.file,
                &mut self.compressor,
                self.len,
                &d.buffered,
                requests,
            );
            // Cleared, not freed: growing the buffers again from nothing
            // (fresh pages, copies as they double) cost more than the
            // encoding itself.
            d.buffered.clear();
            match written {
                Ok(chunk) => {
                    self.len += u64::from(chunk.len);
                    d.chunks.push(chunk);
                }
                Err(source) => {
                    self.failed = Some(SpillError::Io {
                        dir: self.dir.clone(),
                        source,
                    })
                }
            }
        }
        // The capacities are kept while they are within the bound (a buffer
        // holds at most twice what it was filled with, and they are written
        // out at half the bound); past it they are given back.
        self.buffered_len = 0;
        self.buffered_bytes = self.days.values().map(|d| d.buffered.capacity()).sum();
        if self.buffered_bytes > self.buffered_bytes_max {
            for d in self.days.values_mut() {
                d.buffered = Vec::new();
            }
            self.buffered_bytes = 0;
        }
    }

    /// Writes what is still buffered, and answers the requests of each day.
    ///
    /// # Errors
    /// The first failure to encode or write a request.
    pub fn finish(&mut self) -> Result<BTreeMap<NaiveDate, usize>, SpillError> {
        self.write_buffered();
        for d in self.days.values_mut() {
            d.buffered = Vec::new();
        }
        (self.buffered_bytes, self.buffered_len) = (0, 0);
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.file.flush().map_err(|e| self.io(e))?;
        Ok(self
            .days
            .iter()
            .map(|(d, day)| (*d, day.requests))
            .collect())
    }

    fn io(&self, source: std::io::Error) -> SpillError {
        SpillError::Io {
            dir: self.dir.clone(),
            source,
        }
    }

    /// Chunks written to the temporary file.
    pub fn chunks(&self) -> usize {
        self.days.values().map(|d| d.chunks.len()).sum()
    }

    /// Bytes of the temporary file.
    pub fn file_bytes(&self) -> u64 {
        self.len
    }

    /// The requests of `day` as drawn: their ordinals, instants and steps.
    ///
    /// # Errors
    /// [`SpillError::Io`] when the file cannot be read, [`SpillError::Corrupt`]
    /// when a chunk does not decode to the requests written.
    pub fn read_day(
        &mut self,
        day: NaiveDate,
    ) -> Result<Vec<(u64, DateTime<Utc>, Step)>, SpillError> {
        let Some(d) = self.days.get(&day) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(d.requests);
        for (i, chunk) in d.chunks.iter().enumerate() {
            let corrupt = |why: String| SpillError::Corrupt { day, chunk: i, why };
            let raw = read_chunk(&mut self.file, chunk).map_err(|source| SpillError::Io {
                dir: self.dir.clone(),
                source,
            })?;
            let raw = (self.decompressor)
                .decompress(&raw, chunk.raw_len as usize)
                .map_err(|e| corrupt(format!("does not decompress: {e}")))?;
            let mut decoded = 0u32;
            for s in serde_json::Deserializer::from_slice(&raw).into_iter::<Spilled>() {
                let s =
                    s.map_err(|e| corrupt(format!("request {decoded} does not decode: {e}")))?;
                out.push((s.ordinal, s.at, s.step));
                decoded += 1;
            }
            if decoded != chunk.requests {
                return Err(corrupt(format!(
                    "{decoded} requests decoded, {} written",
                    chunk.requests
                )));
            }
        }
        Ok(out)
    }
}

/// Compresses `raw` and writes it at `offset`, the end of `file`.
fn write_chunk(
    file: &mut File,
    compressor: &mut zstd::bulk::Compressor<'static>,
    offset: u64,
    raw: &[u8],
    requests: u32,
) -> std::io::Result<Chunk> {
    let packed = compressor.compress(raw)?;
    let too_long = |_| std::io::Error::other("a chunk of 4 GiB or more");
    let len = u32::try_from(packed.len()).map_err(too_long)?;
    let raw_len = u32::try_from(raw.len()).map_err(too_long)?;
    file.write_all(&packed)?;
    Ok(Chunk {
        offset,
        len,
        raw_len,
        requests,
    })
}

fn read_chunk(file: &mut File, chunk: &Chunk) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; chunk.len as usize];
    file.seek(SeekFrom::Start(chunk.offset))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use navigo_events_schema::command::AdvanceClock;
    use navigo_events_schema::types::Actor;
    use navigo_events_schema::Command;
    use std::os::unix::fs::FileExt;

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap() + Duration::days(n)
    }

    /// The `i`-th request of a spill test: a clock advance or an intent,
    /// on one of four days.
    fn request(i: u64) -> (NaiveDate, u64, DateTime<Utc>, Step) {
        let d = day(i64::try_from(i % 4).unwrap());
        let at = navigo_rules::calendar::paris_start_of_day(d) + Duration::seconds(i as i64);
        let step = if i % 3 == 0 {
            Step::Command(Box::new(CommandEnvelope {
                request_at: at,
                actor: Actor::billing_clock(),
                channel: None,
                idempotency_key: None,
                expected_version: None,
                command: Command::AdvanceClock(AdvanceClock { to: d }),
            }))
        } else {
            Step::Intent(Intent::BackOffice { seed: i * 7 })
        };
        (d, i + 1, at, step)
    }

    /// A spill of 200 requests over four days, written out every 300 bytes.
    fn spilled() -> Spill {
        let mut spill = Spill::new_in(&std::env::temp_dir(), 300).unwrap();
        for i in 0..200 {
            let (d, ordinal, at, step) = request(i);
            spill.push(d, ordinal, at, step);
        }
        spill
    }

    #[test]
    fn plan_windows_spill_gives_each_day_back_in_the_order_drawn_across_chunks() {
        // Given 200 requests over four days spilled with a buffer of 300 bytes
        let mut spill = spilled();
        // When it is finished and each day read back
        let per_day = spill.finish().unwrap();
        // Then each day holds its 50 requests, in several chunks, as pushed
        assert_eq!(per_day.values().sum::<usize>(), 200);
        for n in 0..4 {
            assert!(
                spill.days[&day(n)].chunks.len() > 3,
                "one chunk for {}",
                day(n)
            );
            let back = spill.read_day(day(n)).unwrap();
            let pushed: Vec<_> = (0..200)
                .map(request)
                .filter(|r| r.0 == day(n))
                .map(|(_, o, at, step)| (o, at, step))
                .collect();
            assert_eq!(back, pushed);
        }
        assert!(spill.read_day(day(9)).unwrap().is_empty());
    }

    #[test]
    fn plan_windows_spill_refuses_a_changed_chunk_naming_its_day() {
        // Given a finished spill whose file has one byte changed inside the
        // first chunk of the second day
        let mut spill = spilled();
        spill.finish().unwrap();
        let chunk = spill.days[&day(1)].chunks[0];
        let at = chunk.offset + u64::from(chunk.len) / 2;
        let mut byte = [0u8];
        spill.file.read_exact_at(&mut byte, at).unwrap();
        spill.file.write_all_at(&[byte[0] ^ 0x5A], at).unwrap();
        // When that day is read back, then it is refused, naming the day and
        // the chunk, and the other days still read
        match spill.read_day(day(1)) {
            Err(SpillError::Corrupt {
                day: d, chunk: 0, ..
            }) => assert_eq!(d, day(1)),
            other => panic!("a changed chunk read as {other:?}"),
        }
        assert_eq!(spill.read_day(day(2)).unwrap().len(), 50);
    }

    #[test]
    fn plan_windows_a_full_disk_is_an_error_naming_the_directory() {
        // Given a spill whose file is a full disk (Linux's /dev/full),
        // written out every 300 bytes
        let full = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut spill = Spill::over(full, Path::new("/dev"), 300).unwrap();
        // When requests are spilled to it, then finishing the spill (what
        // `PlanWindows::with_spill` answers) is what the system said, and where
        for i in 0..200 {
            let (d, ordinal, at, step) = request(i);
            spill.push(d, ordinal, at, step);
        }
        let Err(e) = spill.finish() else {
            panic!("a plan spilled to a full disk");
        };
        let message = e.to_string();
        assert!(matches!(e, SpillError::Io { .. }), "{message}");
        assert!(
            message.contains("/dev") && message.contains("space"),
            "{message}"
        );
    }

    #[test]
    fn plan_windows_a_missing_directory_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join("navigo-sim-no-such-directory/below");
        let Err(e) = Spill::new_in(&dir, 1024) else {
            panic!("a spill in a missing directory");
        };
        assert!(
            e.to_string().contains("navigo-sim-no-such-directory"),
            "{e}"
        );
    }
}
