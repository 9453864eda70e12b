//! Opening inputs and inflating them by their magic bytes, never by their names: a
//! `.log` that is gzip is inflated, a `.gz` that is plain text is read as it is, and
//! standard input is sniffed the same way (docs/semantics.md §9.1).

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use crate::error::{ScanError, ScanErrorKind};

/// One input of a scan: a file, or standard input (named `-`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    Path(PathBuf),
    Stdin,
}

impl Input {
    /// The input as it was named: the path as given (a walked file is its directory as
    /// given joined with the names below it), `-` for standard input.
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            Input::Path(path) => path.to_string_lossy(),
            Input::Stdin => Cow::Borrowed("-"),
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// How an input is compressed, as its first bytes tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    Plain,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

impl Compression {
    /// `plain`, `gzip`, `zstd`, `bzip2` or `xz`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Plain => "plain",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many first bytes [`sniff`] looks at: the longest magic, xz's.
pub const MAGIC_BYTES: usize = 6;

/// The compression whose magic bytes `magic` (the first bytes of an input, [`MAGIC_BYTES`]
/// of them unless the input is shorter) starts with: gzip `1f 8b`, zstd `28 b5 2f fd`,
/// bzip2 `BZh` and a block-size digit `1`-`9`, xz `fd 37 7a 58 5a 00`; anything else is
/// plain, an empty input too.
///
/// # Example
/// ```
/// use vedette_core::scan::input::{sniff, Compression};
///
/// assert_eq!(sniff(b"\x1f\x8b\x08\x00"), Compression::Gzip);
/// assert_eq!(sniff(b"BZh9"), Compression::Bzip2);
/// assert_eq!(sniff(b"BZh "), Compression::Plain);
/// assert_eq!(sniff(b"Jan  1 sshd[1]"), Compression::Plain);
/// ```
pub fn sniff(magic: &[u8]) -> Compression {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if magic.len() >= 4 && magic.starts_with(b"BZh") && (b'1'..=b'9').contains(&magic[3]) {
        Compression::Bzip2
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else {
        Compression::Plain
    }
}

/// The inputs that `paths` name, in order, and one error per path that names nothing.
///
/// `-` is standard input. A directory is walked recursively, its entries in the order of
/// their names so that a scan's output is the same from run to run; a walk takes regular
/// files and links to them, and leaves out links to directories (a link to a parent
/// would loop), sockets, FIFOs, devices and broken links. A path named explicitly is
/// taken whatever it is, a FIFO too (`vedette scan <(zcat a.gz)`). A path that does not
/// exist or a directory that cannot be listed is one [`ScanErrorKind::Unreadable`]
/// error naming it, and the other paths are still expanded.
///
/// # Example
/// ```
/// use vedette_core::scan::input::{expand, Input};
///
/// let (inputs, errors) = expand(&["-", "no/such.log"]);
/// assert_eq!(inputs, [Input::Stdin]);
/// assert_eq!(errors[0].file(), "no/such.log");
/// ```
pub fn expand(paths: &[impl AsRef<str>]) -> (Vec<Input>, Vec<ScanError>) {
    let (mut inputs, mut errors) = (Vec::new(), Vec::new());
    for path in paths {
        let path = path.as_ref();
        if path == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(Path::new(path), &mut inputs, &mut errors),
            Ok(_) => inputs.push(Input::Path(PathBuf::from(path))),
            Err(err) => errors.push(unreadable(path, "cannot open", &err)),
        }
    }
    (inputs, errors)
}

/// Appends the files below `dir`, depth first, each directory's entries by name.
fn walk(dir: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<ScanError>) {
    let listed = fs::read_dir(dir).and_then(|entries| entries.collect::<io::Result<Vec<_>>>());
    let mut entries = match listed {
        Ok(entries) => entries,
        Err(err) => {
            errors.push(unreadable(&dir.to_string_lossy(), "cannot list the directory", &err));
            return;
        }
    };
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => walk(&path, inputs, errors),
            Ok(kind) if kind.is_file() => inputs.push(Input::Path(path)),
            // `metadata` follows the link: a link to a file is taken, and a link to a
            // directory is not walked.
            Ok(kind) if kind.is_symlink() => {
                if fs::metadata(&path).is_ok_and(|meta| meta.is_file()) {
                    inputs.push(Input::Path(path));
                }
            }
            Ok(_) => {}
            Err(err) => errors.push(unreadable(&path.to_string_lossy(), "cannot open", &err)),
        }
    }
}

/// Opens `input` and picks its decoder by its first bytes (see [`Reader::new`]).
///
/// # Errors
/// [`ScanErrorKind::Unreadable`] when the file cannot be opened or its first bytes
/// cannot be read.
///
/// # Example
/// ```no_run
/// use std::io::Read;
/// use vedette_core::scan::input::{open, Input};
///
/// let mut text = Vec::new();
/// open(&Input::Path("auth.log.1.gz".into()))?.read_to_end(&mut text)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open(input: &Input) -> Result<Reader, ScanError> {
    let name = input.name();
    match input {
        Input::Path(path) => {
            let file = File::open(path).map_err(|err| unreadable(&name, "cannot open", &err))?;
            Reader::new(file, &name)
        }
        Input::Stdin => Reader::new(io::stdin(), &name),
    }
}

/// The bytes of an input, inflated.
///
/// A read error is an [`io::Error`] whose inner error is the [`ScanError`] that says
/// what happened ([`scan_error`] takes it out): [`ScanErrorKind::Corrupt`] when the
/// decoder refuses the data (corrupt, a checksum mismatch, a stream cut short, bytes
/// after the last stream that are not another stream), [`ScanErrorKind::Unreadable`]
/// when the file itself cannot be read. After an error every read returns it again.
pub struct Reader {
    inner: Box<dyn Read + Send>,
    compression: Compression,
    name: String,
    failed: Option<ScanError>,
}

/// The buffer between the file and a decoder: big enough that a decoder asks the file
/// for data in few system calls.
const SOURCE_BUFFER: usize = 128 << 10;

impl Reader {
    /// Reads the first [`MAGIC_BYTES`] of `source` and sets up the decoder they call for:
    /// every member of a multi-member gzip (`cat a.gz b.gz`), every frame of a zstd
    /// stream, every stream of a multi-stream bzip2 (`pbzip2`) or xz, or none for plain
    /// bytes. The first bytes are kept, so standard input is sniffed without losing
    /// them. `name` names the input in errors.
    ///
    /// # Errors
    /// [`ScanErrorKind::Unreadable`] when the first bytes cannot be read.
    ///
    /// # Example
    /// ```
    /// use std::io::{Cursor, Read};
    /// use vedette_core::scan::input::{Compression, Reader};
    ///
    /// let mut reader = Reader::new(Cursor::new(b"plain text\n".to_vec()), "-")?;
    /// assert_eq!(reader.compression(), Compression::Plain);
    /// let mut text = String::new();
    /// reader.read_to_string(&mut text)?;
    /// assert_eq!(text, "plain text\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new<R: Read + Send + 'static>(source: R, name: &str) -> Result<Reader, ScanError> {
        let mut source = Source(source);
        let mut magic = Vec::with_capacity(MAGIC_BYTES);
        // `take` + `read_to_end` loops until it has the bytes or the input ends: a pipe
        // may give fewer than asked in one read.
        if let Err(err) = (&mut source).take(MAGIC_BYTES as u64).read_to_end(&mut magic) {
            return Err(unreadable(name, "cannot read", source_cause(&err)));
        }
        let compression = sniff(&magic);
        let source = Cursor::new(magic).chain(source);
        let inner = match compression {
            // Plain bytes go straight to the caller, whose reads are large.
            Compression::Plain => Box::new(source),
            _ => decoder(compression, BufReader::with_capacity(SOURCE_BUFFER, source))
                .map_err(|err| unreadable(name, &format!("cannot start the {compression} decoder"), &err))?,
        };
        Ok(Reader { inner, compression, name: name.to_string(), failed: None })
    }

    /// The compression the input's first bytes named.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The input's name, as errors give it.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn classify(&self, err: &io::Error) -> ScanError {
        match err.get_ref().and_then(|inner| inner.downcast_ref::<SourceError>()) {
            Some(SourceError(cause)) => unreadable(&self.name, "cannot read", cause),
            None => {
                ScanError::new(&self.name, ScanErrorKind::Corrupt, corrupt_message(self.compression, err))
            }
        }
    }
}

/// The most a decoder is asked for in one read. A decoder that meets corrupt data drops
/// what it had inflated in that read (flate2 returns the error, not the bytes), so this
/// bounds what a corrupt stream loses before its error: 64 KiB, not a whole 4 MiB chunk.
const DECODE_STEP: usize = 64 << 10;

impl Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(failed) = &self.failed {
            return Err(io::Error::other(failed.clone()));
        }
        let step = match self.compression {
            Compression::Plain => buf.len(),
            _ => buf.len().min(DECODE_STEP),
        };
        match self.inner.read(&mut buf[..step]) {
            Ok(n) => Ok(n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Err(err),
            Err(err) => {
                let failed = self.classify(&err);
                self.failed = Some(failed.clone());
                Err(io::Error::new(err.kind(), failed))
            }
        }
    }
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("name", &self.name)
            .field("compression", &self.compression)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

/// The [`ScanError`] a read error stands for: the one a [`Reader`] put in it, or an
/// [`ScanErrorKind::Unreadable`] error naming `name` for any other reader's error.
pub fn scan_error(name: &str, err: &io::Error) -> ScanError {
    match err.get_ref().and_then(|inner| inner.downcast_ref::<ScanError>()) {
        Some(scan) => scan.clone(),
        None => unreadable(name, "cannot read", source_cause(err)),
    }
}

/// The decoder of `compression` over `source`, the one for every reader of compressed
/// bytes (scans and feeds alike).
pub(crate) fn decoder<'a, R: BufRead + Send + 'a>(
    compression: Compression,
    source: R,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    Ok(match compression {
        Compression::Plain => Box::new(source),
        // Multi-member: `cat a.gz b.gz` and logrotate's appended archives are valid gzip,
        // and the single-member decoder would silently stop after the first member.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(source)),
        // NOTE: the decoder refuses frames whose window is over 128 MiB (`zstd --long=31`):
        // that is what bounds its memory.
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(source)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(source)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(source)),
    })
}

/// Why a decoder of `compression` refused its data, for a message: a stream cut short
/// (every decoder reports it as [`io::ErrorKind::UnexpectedEof`]), or the decoder's cause.
pub(crate) fn corrupt_message(compression: Compression, err: &io::Error) -> String {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        return format!("{compression} stream ends before its end marker");
    }
    let cause = err.to_string();
    // The decoders' own words, where they are longer than the reader needs.
    let cause = cause.strip_prefix(&format!("{compression}: ")).unwrap_or(&cause);
    let cause = match cause {
        "corrupt gzip stream does not have a matching checksum" => "invalid checksum".to_string(),
        "corrupt deflate stream" => "invalid deflate data".to_string(),
        "corrupt xz stream" => "invalid data".to_string(),
        _ => lower_first(cause),
    };
    format!("{compression} stream is corrupt: {cause}")
}

/// An error of the input itself, not of its decoder: [`Source`] wraps every error of the
/// file in it, so that a decoder passing it up cannot make it look like corrupt data.
#[derive(Debug)]
struct SourceError(io::Error);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {}

/// The file (or standard input) under a decoder.
struct Source<R>(R);

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|err| match err.kind() {
            io::ErrorKind::Interrupted => err,
            kind => io::Error::new(kind, SourceError(err)),
        })
    }
}

/// The error of the file that `err` wraps, or `err`.
fn source_cause(err: &io::Error) -> &io::Error {
    match err.get_ref().and_then(|inner| inner.downcast_ref::<SourceError>()) {
        Some(SourceError(cause)) => cause,
        None => err,
    }
}

/// An [`ScanErrorKind::Unreadable`] error: `doing` and the system's words, lower-cased
/// ("cannot open: no such file or directory (os error 2)").
fn unreadable(name: &str, doing: &str, err: &io::Error) -> ScanError {
    ScanError::new(name, ScanErrorKind::Unreadable, format!("{doing}: {}", lower_first(&err.to_string())))
}

/// `text` with its first letter lower-cased, as error messages are.
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
