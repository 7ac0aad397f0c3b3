//! The firmware's command line: the semihosting arguments QEMU passes
//! (`-semihosting-config arg=...`, set by firmware/qemu-run.sh), after the program name:
//!
//! - `buttons=uart`: a button board is connected to UART0; without it the compiled-in demo
//!   script plays the board;
//! - `flash=PATH`: the flash is backed by the host file PATH; without it, RAM only.
//!
//! QEMU joins the arguments with spaces and the firmware splits them there, so PATH may not
//! hold a space.

use core::ffi::CStr;

/// Bytes of a flash file's path, with its terminating NUL.
pub const PATH_MAX: usize = 160;

/// What the command line asked for.
#[derive(Default)]
pub struct Args {
    /// A button board is on UART0.
    pub buttons_uart: bool,
    /// The flash file's path, NUL-terminated.
    flash: Option<([u8; PATH_MAX], usize)>,
    /// A `flash=` path too long for [`PATH_MAX`].
    pub flash_too_long: bool,
}

impl Args {
    /// Reads the semihosting command line (nothing, when the host gives none).
    pub fn read() -> Self {
        let mut args = Self::default();
        let Ok(line) = semihosting::experimental::env::args::<256>() else {
            return args;
        };
        for arg in (&line).skip(1) {
            match arg.ok().and_then(|a| a.split_once('=')) {
                Some(("buttons", "uart")) => args.buttons_uart = true,
                Some(("buttons", "demo")) => args.buttons_uart = false,
                Some(("flash", path)) => args.set_flash(path),
                _ => defmt::warn!("args: ignored an argument (buttons=uart|demo, flash=PATH)"),
            }
        }
        args
    }

    fn set_flash(&mut self, path: &str) {
        let mut buf = [0u8; PATH_MAX];
        let fits = buf.get_mut(..path.len()).filter(|_| path.len() < PATH_MAX);
        match fits {
            Some(dst) => {
                dst.copy_from_slice(path.as_bytes());
                self.flash = Some((buf, path.len()));
            }
            None => self.flash_too_long = true,
        }
    }

    /// The flash file's path, if one was given.
    pub fn flash(&self) -> Option<&CStr> {
        let (buf, len) = self.flash.as_ref()?;
        CStr::from_bytes_with_nul(buf.get(..=*len)?).ok()
    }
}
