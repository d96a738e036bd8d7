//! Bodies read with a byte cap, within the request's deadline, async and blocking.
//!
//! A client's timeout bounds the wait for an answer; these reads also bound the whole body by a
//! deadline, so that a server that trickles bytes cannot hold a run forever, and stop reading
//! as soon as more than the cap has come, so that a huge answer is never held in memory.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::text::{duration, innermost, is_timeout};

/// When a request must be done by: its start plus its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// `None` only for a limit too large for the clock.
    at: Option<Instant>,
    limit: Duration,
}

impl Deadline {
    /// `limit` from now.
    pub fn after(limit: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(limit),
            limit,
        }
    }

    /// The limit, for messages.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Whether it has passed.
    pub fn passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() > at)
    }
}

/// A body read up to a cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// At most the cap.
    pub bytes: Vec<u8>,
    /// The body was longer than the cap (and the rest was not read).
    pub truncated: bool,
}

/// How much a capped copy wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// At most the cap.
    pub written: u64,
    /// The body was longer than the cap (and the rest was not read).
    pub truncated: bool,
}

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The deadline passed while the body was coming (or had stopped coming).
    #[error("timed out after {} while reading the body", duration(*limit))]
    TimedOut {
        /// The request's limit.
        limit: Duration,
    },
    /// The connection broke.
    #[error("the connection broke while reading the body: {reason}")]
    Broken {
        /// The innermost cause.
        reason: String,
    },
    /// The body could not be written where it goes (a copy into a file).
    #[error("cannot write the body: {0}")]
    Write(#[source] std::io::Error),
}

impl BodyError {
    /// Whether the server may do better on another try (a timeout or a broken connection, not
    /// a local write error).
    pub fn is_transient(&self) -> bool {
        !matches!(self, BodyError::Write(_))
    }
}

fn room(cap: u64, have: usize) -> usize {
    usize::try_from(cap.saturating_sub(have as u64)).unwrap_or(usize::MAX)
}

/// Reads an async response's body: at most `cap` bytes (stopping as soon as more come), within
/// `deadline`.
///
/// # Errors
/// When the deadline passes or the connection breaks.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: u64,
    deadline: Deadline,
) -> Result<Body, BodyError> {
    let mut bytes = Vec::new();
    let timed_out = || BodyError::TimedOut {
        limit: deadline.limit,
    };
    loop {
        let next = match deadline.at {
            Some(at) => tokio::time::timeout_at(at.into(), response.chunk())
                .await
                .map_err(|_| timed_out())?,
            None => response.chunk().await,
        };
        match next {
            Ok(Some(chunk)) => {
                let room = room(cap, bytes.len());
                if chunk.len() > room {
                    bytes.extend_from_slice(chunk.get(..room).unwrap_or_default());
                    return Ok(Body {
                        bytes,
                        truncated: true,
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => {
                return Ok(Body {
                    bytes,
                    truncated: false,
                });
            }
            Err(e) if e.is_timeout() => return Err(timed_out()),
            Err(e) => {
                return Err(BodyError::Broken {
                    reason: innermost(&e),
                });
            }
        }
    }
}

/// Copies a (blocking) body into `out`: at most `cap` bytes (stopping as soon as more come),
/// within `deadline`, checked after every read (each read is bounded by the client's timeout).
///
/// # Errors
/// When the deadline passes, the connection breaks, or `out` cannot be written.
pub fn copy_capped(
    reader: &mut impl Read,
    out: &mut impl Write,
    cap: u64,
    deadline: Deadline,
) -> Result<Copied, BodyError> {
    let mut written = 0_u64;
    let mut chunk = vec![0_u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => {
                return Err(BodyError::TimedOut {
                    limit: deadline.limit,
                });
            }
            Err(e) => {
                return Err(BodyError::Broken {
                    reason: innermost(&e),
                });
            }
        };
        let room = room(cap, usize::try_from(written).unwrap_or(usize::MAX));
        let take = n.min(room);
        out.write_all(chunk.get(..take).unwrap_or_default())
            .map_err(BodyError::Write)?;
        written = written.saturating_add(take as u64);
        if n > room {
            return Ok(Copied {
                written,
                truncated: true,
            });
        }
        if deadline.passed() {
            return Err(BodyError::TimedOut {
                limit: deadline.limit,
            });
        }
    }
    out.flush().map_err(BodyError::Write)?;
    Ok(Copied {
        written,
        truncated: false,
    })
}

/// Reads a blocking response's body: at most `cap` bytes, within `deadline`.
///
/// # Errors
/// When the deadline passes or the connection breaks.
pub fn read_capped_blocking(
    mut response: reqwest::blocking::Response,
    cap: u64,
    deadline: Deadline,
) -> Result<Body, BodyError> {
    let mut bytes = Vec::new();
    let copied = copy_capped(&mut response, &mut bytes, cap, deadline)?;
    Ok(Body {
        bytes,
        truncated: copied.truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that gives `chunks` one at a time, sleeping `pause` before each.
    struct Trickle {
        chunks: Vec<Vec<u8>>,
        pause: Duration,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            std::thread::sleep(self.pause);
            if self.chunks.is_empty() {
                return Ok(0);
            }
            let c = self.chunks.remove(0);
            buf[..c.len()].copy_from_slice(&c);
            Ok(c.len())
        }
    }

    #[test]
    fn a_copy_stops_at_the_cap() {
        let mut r = Trickle {
            chunks: vec![vec![1; 10], vec![2; 10], vec![3; 10]],
            pause: Duration::ZERO,
        };
        let mut out = Vec::new();
        let c = copy_capped(
            &mut r,
            &mut out,
            15,
            Deadline::after(Duration::from_secs(5)),
        )
        .expect("copy");
        assert_eq!(
            c,
            Copied {
                written: 15,
                truncated: true
            }
        );
        assert_eq!(out.len(), 15);
        // Exactly the cap is not over it.
        let mut r = Trickle {
            chunks: vec![vec![1; 10], vec![2; 5]],
            pause: Duration::ZERO,
        };
        let mut out = Vec::new();
        let c = copy_capped(
            &mut r,
            &mut out,
            15,
            Deadline::after(Duration::from_secs(5)),
        )
        .expect("copy");
        assert!(!c.truncated);
        assert_eq!(c.written, 15);
    }

    #[test]
    fn a_trickle_ends_at_the_deadline() {
        let mut r = Trickle {
            chunks: vec![vec![1]; 100],
            pause: Duration::from_millis(20),
        };
        let started = Instant::now();
        let e = copy_capped(
            &mut r,
            &mut Vec::new(),
            1 << 20,
            Deadline::after(Duration::from_millis(150)),
        )
        .expect_err("deadline");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            e.to_string(),
            "timed out after 150 ms while reading the body"
        );
        assert!(e.is_transient());
    }

    #[test]
    fn write_errors_are_not_transient() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut r = Trickle {
            chunks: vec![vec![1; 4]],
            pause: Duration::ZERO,
        };
        let e = copy_capped(
            &mut r,
            &mut Full,
            100,
            Deadline::after(Duration::from_secs(1)),
        )
        .expect_err("write");
        assert_eq!(e.to_string(), "cannot write the body: disk full");
        assert!(!e.is_transient());
    }
}
