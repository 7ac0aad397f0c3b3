//! Where `collect` reads: a path (a serial device the user has set up, a FIFO, a file), standard
//! input, or a TCP server. A serial device is read as a plain file: its speed and line
//! discipline are the user's to set with `stty` (docs/design.md, "Why are serial devices read
//! as plain files?").
//!
//! The source is opened and read on a thread of its own, which hands the bytes over as they
//! come, so that the reading side can give up after a time without a byte (`--idle-timeout`)
//! whatever the source is; a blocking read has no timeout of its own on a FIFO or a tty.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long to keep trying to connect to a TCP source, so that a collector may be started
/// before the server (QEMU's `-chardev socket,server=on`, say) is listening.
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(10);

/// The pause between two connection attempts.
const CONNECT_PAUSE: Duration = Duration::from_millis(100);

/// The most bytes one read hands over.
const CHUNK: usize = 64 * 1024;

/// Chunks read ahead of the line reader: with [`CHUNK`], at most 1 MiB in flight.
const AHEAD: usize = 16;

/// A place to read exports from (`--from`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A serial device, a FIFO or a regular file, read to its end.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A TCP server to connect to, as `HOST:PORT` (`tcp:HOST:PORT`).
    Tcp(String),
}

impl Source {
    /// The source an argument names: `-` is standard input, `tcp:HOST:PORT` a TCP server, and
    /// anything else a path (write `./tcp:x` for a file of that name).
    #[must_use]
    pub fn from_arg(arg: &OsStr) -> Self {
        match arg.to_str() {
            Some("-") => Source::Stdin,
            Some(s) if s.starts_with("tcp:") => Source::Tcp(s["tcp:".len()..].to_owned()),
            _ => Source::Path(PathBuf::from(arg)),
        }
    }

    /// Opens the source on a reading thread and waits until it is open (for a TCP server, up
    /// to [`CONNECT_PATIENCE`]; a FIFO until a writer opens it). `idle` is the longest wait for
    /// a byte once it is open.
    ///
    /// # Errors
    /// The source cannot be opened; the message names it.
    pub fn open(&self, idle: Option<Duration>) -> Result<Feed> {
        let (sender, receiver) = sync_channel(AHEAD);
        let source = self.clone();
        std::thread::Builder::new()
            .name("collect-source".to_owned())
            .spawn(move || pump(&source, &sender))
            .context("cannot start the reading thread")?;
        match receiver.recv() {
            Ok(Message::Opened) => Ok(Feed { receiver, idle, pending: Vec::new(), at: 0, ended: false }),
            Ok(Message::OpenFailed(e)) => Err(e),
            _ => bail!("{self}: cannot open: the reading thread stopped"),
        }
    }

    /// The open source, as a reader.
    fn reader(&self) -> Result<Box<dyn Read + Send>> {
        match self {
            Source::Stdin => Ok(Box::new(io::stdin())),
            Source::Path(path) => Ok(Box::new(open_path(path)?)),
            Source::Tcp(address) => Ok(Box::new(connect(address)?)),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Path(path) => write!(f, "{}", path.display()),
            Source::Stdin => write!(f, "<stdin>"),
            Source::Tcp(address) => write!(f, "tcp:{address}"),
        }
    }
}

/// Opens a file, FIFO or device for reading; a folder is refused here rather than at the
/// first read.
fn open_path(path: &Path) -> Result<std::fs::File> {
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        bail!("{}: cannot read: is a folder", path.display());
    }
    Ok(file)
}

/// Connects to `address` (`HOST:PORT`), trying again for up to [`CONNECT_PATIENCE`].
fn connect(address: &str) -> Result<TcpStream> {
    let cannot = || format!("tcp:{address}: cannot connect");
    let addresses: Vec<SocketAddr> = address.to_socket_addrs().with_context(cannot)?.collect();
    let deadline = Instant::now() + CONNECT_PATIENCE;
    loop {
        match TcpStream::connect(addresses.as_slice()) {
            Ok(stream) => return Ok(stream),
            Err(e) if Instant::now() >= deadline => {
                return Err(e)
                    .with_context(|| format!("{} (tried for {} s)", cannot(), CONNECT_PATIENCE.as_secs()));
            }
            Err(_) => std::thread::sleep(CONNECT_PAUSE),
        }
    }
}

/// What the reading thread hands over.
enum Message {
    /// The source is open; bytes follow.
    Opened,
    /// The source could not be opened.
    OpenFailed(anyhow::Error),
    /// Bytes, as read.
    Bytes(Vec<u8>),
    /// The end of the source (end of file, or the peer closed the connection).
    End,
    /// A read failed; nothing follows.
    ReadFailed(io::Error),
}

/// The reading thread: opens `source` and sends what it reads until the end, an error, or
/// the reading side hangs up.
fn pump(source: &Source, sender: &SyncSender<Message>) {
    let mut input = match source.reader() {
        Ok(input) => input,
        Err(e) => {
            let _ = sender.send(Message::OpenFailed(e));
            return;
        }
    };
    if sender.send(Message::Opened).is_err() {
        return;
    }
    let mut buf = vec![0u8; CHUNK];
    loop {
        let message = match input.read(&mut buf) {
            Ok(0) => Message::End,
            Ok(n) => Message::Bytes(buf[..n].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Message::ReadFailed(e),
        };
        let last = !matches!(message, Message::Bytes(_));
        if sender.send(message).is_err() || last {
            return;
        }
    }
}

/// The error a [`Feed`] gives when no byte came for its idle time.
#[derive(Debug)]
pub struct Idle(pub Duration);

impl fmt::Display for Idle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no byte for {} s", self.0.as_secs_f64())
    }
}

impl std::error::Error for Idle {}

impl Idle {
    /// The idle time, if `e` is the error of a feed that waited that long for a byte.
    #[must_use]
    pub fn of(e: &io::Error) -> Option<Duration> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<Idle>()).map(|idle| idle.0)
    }
}

/// The bytes of an open source, as they arrive. A wait longer than the idle time is an
/// [`io::ErrorKind::TimedOut`] error holding an [`Idle`]; the source's own read error is
/// passed on as it is.
pub struct Feed {
    receiver: Receiver<Message>,
    idle: Option<Duration>,
    pending: Vec<u8>,
    at: usize,
    ended: bool,
}

impl Feed {
    /// Waits for the next bytes from the reading thread; `false` at the end.
    fn next_bytes(&mut self) -> io::Result<bool> {
        let message = match self.idle {
            Some(idle) => self.receiver.recv_timeout(idle),
            None => self.receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match message {
            Ok(Message::Bytes(bytes)) => {
                (self.pending, self.at) = (bytes, 0);
                Ok(true)
            }
            Ok(Message::ReadFailed(e)) => {
                self.ended = true;
                Err(e)
            }
            Err(RecvTimeoutError::Timeout) => {
                Err(io::Error::new(io::ErrorKind::TimedOut, Idle(self.idle.unwrap_or_default())))
            }
            Ok(_) | Err(RecvTimeoutError::Disconnected) => {
                self.ended = true;
                Ok(false)
            }
        }
    }
}

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Feed {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at >= self.pending.len() && !self.ended {
            if !self.next_bytes()? {
                break;
            }
        }
        Ok(self.pending.get(self.at..).unwrap_or_default())
    }

    fn consume(&mut self, n: usize) {
        self.at = self.at.saturating_add(n).min(self.pending.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_name_stdin_tcp_servers_and_paths() {
        assert_eq!(Source::from_arg(OsStr::new("-")), Source::Stdin);
        assert_eq!(Source::from_arg(OsStr::new("tcp:127.0.0.1:4000")), Source::Tcp("127.0.0.1:4000".into()));
        assert_eq!(Source::from_arg(OsStr::new("/dev/ttyUSB0")), Source::Path("/dev/ttyUSB0".into()));
        assert_eq!(Source::from_arg(OsStr::new("./tcp:x")), Source::Path("./tcp:x".into()));
        assert_eq!(Source::Tcp("h:1".into()).to_string(), "tcp:h:1");
    }

    #[test]
    fn a_feed_reads_a_file_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, b"hello\nworld\n").unwrap();
        let mut feed = Source::Path(path).open(None).unwrap();
        let mut text = String::new();
        feed.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello\nworld\n");
        assert_eq!(feed.fill_buf().unwrap(), b"");
    }

    #[test]
    fn a_folder_or_a_missing_file_cannot_be_opened() {
        let dir = tempfile::tempdir().unwrap();
        let e = Source::Path(dir.path().to_owned()).open(None).err().unwrap();
        assert!(format!("{e:#}").contains("is a folder"), "{e:#}");
        let missing = dir.path().join("missing");
        let e = Source::Path(missing.clone()).open(None).err().unwrap();
        assert!(format!("{e:#}").starts_with(&format!("{}: cannot open", missing.display())), "{e:#}");
    }

    #[test]
    fn a_silent_server_ends_the_feed_after_the_idle_time() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            io::Write::write_all(&mut stream, b"hi").unwrap();
            std::thread::sleep(Duration::from_secs(2));
        });
        let started = Instant::now();
        let mut feed = Source::Tcp(address).open(Some(Duration::from_millis(200))).unwrap();
        assert_eq!(feed.fill_buf().unwrap(), b"hi");
        feed.consume(2);
        let e = feed.fill_buf().unwrap_err();
        assert_eq!(Idle::of(&e), Some(Duration::from_millis(200)));
        assert!(started.elapsed() < Duration::from_secs(2));
        server.join().unwrap();
    }
}
