//! The button board: a small board that scans the kiosk's eight buttons and sends each change
//! of their levels over a serial line, stamped with its own clock, one step a line in the
//! [`crate::script`] notation (`<ms> <buttons>`, `<ms> end`). On mps2-an386 it is CMSDK UART0;
//! under QEMU a script file or a socket plays the board (firmware/qemu-run.sh).
//!
//! [`ButtonBoard`] reads the bytes as they arrive into a line buffer, keeps a small queue of
//! parsed steps, and hands each step out when the kiosk's clock reaches it. The two clocks are
//! aligned once: the first step's time maps to the kiosk time at which it was received, and
//! every later step keeps its distance from the first. The kiosk applies a step's levels to the
//! [`crate::script::ScriptPin`]s, which the debounced [`crate::buttons::Buttons`] sample.
//!
//! While the next step has not been received, [`ButtonBoard::next_known`] is false and the
//! board must poll the serial port rather than sleep: under QEMU's `-icount sleep=off` an idle
//! CPU makes virtual time jump to the next timer, ahead of data the host has yet to send.
//!
//! The first line after boot may be the tail of a line the board began before the kiosk
//! listened (after a reset, say): if it is not a step it is dropped, and reported as
//! [`BoardError::FirstLineDropped`]; any later line that is not a step is an error.
//!
//! [`Recorded`] plays a script held in memory (the compiled-in demo) as if a board sent it.

use embedded_io::{ErrorType, Read, ReadReady};
use heapless::Deque;

use crate::line::{Line, LineReader};
use crate::script::{Step, parse_line};

/// Bytes of the line buffer: a step line is at most 16 bytes, a comment may be longer.
pub const LINE: usize = 128;
/// Steps received ahead of time. When the queue is full the board stops reading the port,
/// which holds the line (a CMSDK UART has a one-byte buffer; QEMU's chardev waits for it).
pub const QUEUE: usize = 8;

/// Why the button board could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoardError<E> {
    /// The serial port failed (an overrun): the line being received is dropped.
    Serial(E),
    /// A line that is not a step (see [`crate::script`]), or longer than [`LINE`].
    BadLine,
    /// The first line was not a step, so probably the tail of one begun before the kiosk
    /// listened: it was dropped (not an error; receiving goes on).
    FirstLineDropped,
}

/// A button board on serial port `S`.
pub struct ButtonBoard<S> {
    serial: S,
    lines: LineReader<LINE>,
    queue: Deque<Step, QUEUE>,
    /// Kiosk time minus board time, set by the first step.
    offset: Option<u32>,
    /// The end (an `end` step, or the port's end) is queued: nothing more is read.
    ended: bool,
    /// A whole line has been received.
    synced: bool,
}

impl<S: Read + ReadReady> ButtonBoard<S> {
    /// A board on `serial`, nothing received yet.
    pub fn new(serial: S) -> Self {
        Self {
            serial,
            lines: LineReader::new(),
            queue: Deque::new(),
            offset: None,
            ended: false,
            synced: false,
        }
    }

    /// Reads what the port has ready, without waiting, into the queue of steps (in kiosk
    /// time); `now` is the kiosk's time, which the first step is aligned to. A port at its
    /// end ends the session once the steps before are done.
    ///
    /// # Errors
    /// The port failed (the partial line is dropped), or a line is not a step (or the first
    /// line was dropped, which is not fatal).
    pub fn receive(&mut self, now: u32) -> Result<(), BoardError<S::Error>> {
        while !self.ended && !self.queue.is_full() {
            let line = self.lines.poll(&mut self.serial);
            let parsed = match line {
                Ok(None) => return Ok(()),
                Ok(Some(Line::End)) => {
                    // Already in kiosk time: now. Not full: checked by the loop.
                    let _ = self.queue.push_back(Step::End { at: now });
                    self.ended = true;
                    return Ok(());
                }
                Ok(Some(Line::TooLong)) => Err(()),
                Ok(Some(Line::Text(text))) => {
                    core::str::from_utf8(text).ok().map(parse_line).and_then(Result::ok).ok_or(())
                }
                Err(e) => {
                    self.lines.discard();
                    return Err(BoardError::Serial(e));
                }
            };
            let first = !core::mem::replace(&mut self.synced, true);
            let step = match parsed {
                Ok(Some(step)) => self.align(step, now),
                Ok(None) => continue,
                Err(()) if first => return Err(BoardError::FirstLineDropped),
                Err(()) => return Err(BoardError::BadLine),
            };
            self.ended = matches!(step, Step::End { .. });
            // Not full: checked by the loop.
            let _ = self.queue.push_back(step);
        }
        Ok(())
    }

    /// The next step, taken off the queue, if the kiosk's clock has reached it at `now`.
    pub fn next_due(&mut self, now: u32) -> Option<Step> {
        let at = match self.queue.front()? {
            Step::Hold { at, .. } | Step::End { at } => *at,
        };
        if reached(at, now) { self.queue.pop_front() } else { None }
    }

    /// Whether the next step has been received, so the kiosk may sleep until it is due; false
    /// while it is still to come (poll the port instead).
    #[must_use]
    pub fn next_known(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Steps received and not yet due.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Gives the serial port back.
    pub fn release(self) -> S {
        self.serial
    }

    /// `step` in kiosk time. The first step sets the offset between the two clocks.
    fn align(&mut self, step: Step, now: u32) -> Step {
        let board_at = match step {
            Step::Hold { at, .. } | Step::End { at } => at,
        };
        let offset = *self.offset.get_or_insert(now.wrapping_sub(board_at));
        let at = board_at.wrapping_add(offset);
        match step {
            Step::Hold { held, .. } => Step::Hold { at, held },
            Step::End { .. } => Step::End { at },
        }
    }
}

/// Whether `now` is at or past `at`, on clocks that wrap (as the kiosk's `u32` milliseconds do).
fn reached(at: u32, now: u32) -> bool {
    now.wrapping_sub(at) < u32::MAX / 2
}

/// A script in memory played as a button board's serial line: everything has "arrived", and
/// its end is the port's end.
#[derive(Clone, Copy, Debug)]
pub struct Recorded<'a>(pub &'a [u8]);

impl ErrorType for Recorded<'_> {
    type Error = core::convert::Infallible;
}

impl Read for Recorded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf)
    }
}

impl ReadReady for Recorded<'_> {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buttons::{BACK, SKIP};
    use crate::mock_serial::{MockError, MockSerial};

    fn board() -> ButtonBoard<MockSerial> {
        ButtonBoard::new(MockSerial::new())
    }

    fn arrive(b: &mut ButtonBoard<MockSerial>, bytes: &[u8]) {
        b.serial.arrive(bytes);
    }

    #[test]
    fn the_first_step_is_aligned_to_when_it_arrived() {
        let mut b = board();
        b.receive(500).unwrap();
        assert!(!b.next_known(), "nothing received: poll, do not sleep");
        arrive(&mut b, b"1000 1\n1080 -\n");
        b.receive(700).unwrap();
        assert!(b.next_known());
        assert_eq!(b.next_due(700), Some(Step::Hold { at: 700, held: 1 }));
        assert_eq!(b.next_due(779), None, "80 ms after the first, on the board's clock");
        assert_eq!(b.next_due(780), Some(Step::Hold { at: 780, held: 0 }));
        assert!(!b.next_known());
    }

    #[test]
    fn later_steps_keep_the_first_steps_alignment_whenever_they_arrive() {
        let mut b = board();
        arrive(&mut b, b"10 B\n");
        b.receive(1_000).unwrap();
        assert_eq!(b.next_due(1_000), Some(Step::Hold { at: 1_000, held: BACK }));
        // Arrives late, after its time: due at once, stamped with its own time.
        arrive(&mut b, b"50 BS\n90000 end\n");
        b.receive(2_000).unwrap();
        assert_eq!(b.next_due(2_000), Some(Step::Hold { at: 1_040, held: BACK | SKIP }));
        assert_eq!(b.next_due(2_000), None);
        assert_eq!(b.next_due(90_990), Some(Step::End { at: 90_990 }));
    }

    #[test]
    fn a_line_split_across_arrivals_is_one_step() {
        let mut b = board();
        arrive(&mut b, b"# a comment\n12");
        b.receive(0).unwrap();
        assert!(!b.next_known());
        arrive(&mut b, b"3 2");
        b.receive(1).unwrap();
        assert!(!b.next_known());
        arrive(&mut b, b"\n");
        b.receive(2).unwrap();
        assert_eq!(b.next_due(2), Some(Step::Hold { at: 2, held: 2 }));
    }

    #[test]
    fn a_full_queue_leaves_the_rest_on_the_line() {
        let mut b = board();
        for i in 0..20u32 {
            arrive(&mut b, std::format!("{} 1\n", i * 10).as_bytes());
        }
        b.receive(0).unwrap();
        assert_eq!(b.queued(), QUEUE);
        let left = b.serial.pending();
        assert!(left > 0);
        assert_eq!(b.next_due(0), Some(Step::Hold { at: 0, held: 1 }));
        b.receive(0).unwrap();
        assert_eq!(b.queued(), QUEUE);
        assert!(b.serial.pending() < left);
    }

    #[test]
    fn bad_lines_and_port_errors_are_reported() {
        let mut b = board();
        arrive(&mut b, b"5 -\n10 7\n");
        assert_eq!(b.receive(0), Err(BoardError::BadLine));
        let mut b = board();
        arrive(&mut b, b"5 -\n");
        arrive(&mut b, &[b'1'; LINE + 1]);
        arrive(&mut b, b"\n");
        assert_eq!(b.receive(0), Err(BoardError::BadLine));
        let mut b = board();
        arrive(&mut b, b"10 ");
        b.receive(0).unwrap();
        b.serial.fail_next();
        assert_eq!(b.receive(0), Err(BoardError::Serial(MockError)));
        // The partial line was dropped with the lost byte: the next line stands alone.
        arrive(&mut b, b"20 1\n");
        b.receive(5).unwrap();
        assert_eq!(b.next_due(5), Some(Step::Hold { at: 5, held: 1 }));
    }

    #[test]
    fn a_first_line_that_is_not_a_step_is_the_tail_of_one_and_dropped() {
        let mut b = board();
        // The kiosk (re)started while "1080 -" was on the line.
        arrive(&mut b, b" -\n2000 1\n2080 x\n");
        assert_eq!(b.receive(40), Err(BoardError::FirstLineDropped));
        assert_eq!(b.receive(40), Err(BoardError::BadLine), "only the first line");
        assert_eq!(b.next_due(40), Some(Step::Hold { at: 40, held: 1 }));
        let mut b = board();
        arrive(&mut b, &[b'7'; LINE + 5]);
        arrive(&mut b, b"\n3 1\n");
        assert_eq!(b.receive(0), Err(BoardError::FirstLineDropped));
        b.receive(0).unwrap();
        assert_eq!(b.next_due(0), Some(Step::Hold { at: 0, held: 1 }));
    }

    #[test]
    fn nothing_is_read_after_the_end() {
        let mut b = board();
        arrive(&mut b, b"5 end\n6 1\n");
        b.receive(0).unwrap();
        assert_eq!(b.serial.pending(), 4);
        assert_eq!(b.next_due(0), Some(Step::End { at: 0 }));
    }

    #[test]
    fn a_recorded_script_ends_with_its_last_line() {
        let mut b = ButtonBoard::new(Recorded(b"100 1\n180 -"));
        b.receive(3).unwrap();
        assert_eq!(b.next_due(3), Some(Step::Hold { at: 3, held: 1 }));
        assert_eq!(b.next_due(83), Some(Step::Hold { at: 83, held: 0 }));
        assert_eq!(b.next_due(83), Some(Step::End { at: 3 }));
        assert!(b.release().0.is_empty());
    }

    #[test]
    fn the_demo_script_plays_to_its_end() {
        let demo = include_bytes!("../scripts/demo.txt");
        let mut b = ButtonBoard::new(Recorded(demo));
        let mut now = 0u32;
        let mut steps = 0;
        loop {
            b.receive(now).unwrap();
            match b.next_due(now) {
                Some(Step::End { at }) => {
                    assert!(at <= now);
                    break;
                }
                Some(Step::Hold { .. }) => steps += 1,
                None => now += 5,
            }
        }
        assert!(steps > 80, "{steps}");
        assert!(now > 100_000, "{now}");
    }
}
