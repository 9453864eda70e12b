//! Following a growing log as `tail -F` does, for `vedette watch`: what was appended since
//! the last look, as whole lines, through the same [`LineSplitter`] as the archive job;
//! a rotation (the path names a new file) or a truncation is noticed and followed; the
//! last bytes read are kept for a retro-hunt.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::lines::LineSplitter;
use crate::error::{ScanError, ScanErrorKind};

/// Bytes read from a followed file per system call.
const READ_BYTES: usize = 1 << 20;

/// Whole lines a [`Follow::poll`] read, and the number of the first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewLines {
    pub bytes: Vec<u8>,
    pub first_line: u64,
}

/// One followed file.
#[derive(Debug)]
pub struct Follow {
    path: PathBuf,
    name: String,
    open: Option<Opened>,
    max_line_bytes: usize,
    splitter: LineSplitter,
    /// The last whole lines read, at most `retro_bytes` of them (a line longer than the
    /// budget is left out).
    retro: VecDeque<u8>,
    retro_bytes: usize,
}

#[derive(Debug)]
struct Opened {
    file: File,
    /// What tells this file from the next one the path names: device and inode.
    id: (u64, u64),
    /// Bytes read so far.
    pos: u64,
}

impl Follow {
    /// Follows `path` from its current end (`from_start`: from its first byte), keeping
    /// the last `retro_bytes` read. A path that does not exist yet is followed from
    /// when it appears.
    pub fn new(
        path: impl AsRef<Path>,
        from_start: bool,
        max_line_bytes: usize,
        retro_bytes: usize,
    ) -> Follow {
        let path = path.as_ref().to_path_buf();
        let name = path.display().to_string();
        let mut follow = Follow {
            splitter: LineSplitter::new(&name, max_line_bytes),
            path,
            name,
            open: None,
            max_line_bytes,
            retro: VecDeque::new(),
            retro_bytes,
        };
        if let Ok(mut opened) = follow.reopen() {
            if !from_start {
                opened.pos = opened.file.metadata().map_or(0, |m| m.len());
            }
            follow.open = Some(opened);
        }
        follow
    }

    /// The path, as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads what was appended since the last call and returns its whole lines (a line
    /// still being written waits for its newline), numbered from the file's start. When
    /// the path names another file (a rotation by rename), this call returns the rest of
    /// the old file, its last line ended, and the next call follows the new one from its
    /// start (this one, when nothing was left of the old file); a file that got shorter
    /// (truncated, as `copytruncate` does) is read again from its start. A truncation is
    /// seen by the size alone: a file truncated and then written past its old size
    /// between two calls is read on from the old position, as `tail -F` would.
    ///
    /// # Errors
    /// A file that cannot be read; following goes on at the next call.
    pub fn poll(&mut self) -> Result<NewLines, ScanError> {
        let now = std::fs::metadata(&self.path).ok().map(|meta| ((meta.dev(), meta.ino()), meta.len()));
        let mut out = Vec::new();
        let mut first_line;
        match (&mut self.open, now) {
            (None, None) => return Ok(NewLines { bytes: out, first_line: self.splitter.line() }),
            (None, Some(_)) => {
                self.open = Some(self.reopen()?);
                self.splitter = LineSplitter::new(&self.name, self.max_line_bytes);
                first_line = self.splitter.line();
            }
            (Some(open), Some((id, _))) if open.id != id => {
                first_line = self.splitter.line();
                read_appended(open, &mut self.splitter, &mut out, &self.name)?;
                let splitter =
                    std::mem::replace(&mut self.splitter, LineSplitter::new(&self.name, self.max_line_bytes));
                let rest = splitter.finish();
                if !rest.is_empty() {
                    out.extend_from_slice(&rest);
                    out.push(b'\n');
                }
                self.open = None;
                if !out.is_empty() {
                    self.keep_for_retro(&out);
                    return Ok(NewLines { bytes: out, first_line });
                }
                // Nothing left of the old file: on to the new one now.
                self.open = Some(self.reopen()?);
                first_line = self.splitter.line();
            }
            (Some(open), Some((_, len))) if len < open.pos => {
                open.pos = 0;
                self.splitter = LineSplitter::new(&self.name, self.max_line_bytes);
                first_line = self.splitter.line();
            }
            // Still the same file, or the path is gone for a moment (between a rename and
            // the new file's creation): read on.
            (Some(_), _) => first_line = self.splitter.line(),
        }
        if let Some(open) = &mut self.open {
            read_appended(open, &mut self.splitter, &mut out, &self.name)?;
        }
        self.keep_for_retro(&out);
        Ok(NewLines { bytes: out, first_line })
    }

    /// The last whole lines read, at most the retro budget: what a retro-hunt scans again
    /// when new indicators arrive.
    pub fn retro(&self) -> Vec<u8> {
        self.retro.iter().copied().collect()
    }

    fn keep_for_retro(&mut self, lines: &[u8]) {
        if self.retro_bytes == 0 {
            return;
        }
        let lines = match lines.len() > self.retro_bytes {
            // Only the last budget's worth, from a line start.
            true => {
                let from = lines.len() - self.retro_bytes;
                let start = memchr::memchr(b'\n', &lines[from..]).map_or(lines.len(), |p| from + p + 1);
                &lines[start..]
            }
            false => lines,
        };
        self.retro.extend(lines);
        if self.retro.len() > self.retro_bytes {
            let over = self.retro.len() - self.retro_bytes;
            // Drop whole lines: up to the first line end past the excess.
            let cut = self
                .retro
                .iter()
                .skip(over)
                .position(|&b| b == b'\n')
                .map_or(self.retro.len(), |p| over + p + 1);
            self.retro.drain(..cut);
        }
    }

    fn reopen(&self) -> Result<Opened, ScanError> {
        let unreadable =
            |err: std::io::Error| ScanError::new(&self.name, ScanErrorKind::Unreadable, err.to_string());
        let file = File::open(&self.path).map_err(unreadable)?;
        let meta = file.metadata().map_err(unreadable)?;
        Ok(Opened { file, id: (meta.dev(), meta.ino()), pos: 0 })
    }
}

/// Reads `open` from its position to its end into `splitter`, whole lines to `out`.
fn read_appended(
    open: &mut Opened,
    splitter: &mut LineSplitter,
    out: &mut Vec<u8>,
    name: &str,
) -> Result<(), ScanError> {
    let unreadable = |err: std::io::Error| ScanError::new(name, ScanErrorKind::Unreadable, err.to_string());
    open.file.seek(SeekFrom::Start(open.pos)).map_err(unreadable)?;
    let mut buffer = vec![0u8; READ_BYTES];
    loop {
        let n = open.file.read(&mut buffer).map_err(unreadable)?;
        if n == 0 {
            return Ok(());
        }
        open.pos += n as u64;
        // Lines past the limit are cut: the pieces are scanned like lines.
        let _ = splitter.push(&buffer[..n], out);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn append(path: &Path, text: &str) {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }

    #[test]
    fn follows_appends_rotation_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "old 1\nold 2\n");
        let mut follow = Follow::new(&log, false, 1 << 20, 1 << 20);
        assert_eq!(follow.poll().unwrap().bytes, b"", "from the end: what was there is not read");
        append(&log, "a 1\nhalf");
        assert_eq!(follow.poll().unwrap(), NewLines { bytes: b"a 1\n".to_vec(), first_line: 1 });
        append(&log, " done\nb 2\n");
        assert_eq!(follow.poll().unwrap(), NewLines { bytes: b"half done\nb 2\n".to_vec(), first_line: 2 });
        // Rotation by rename: the old file gets a last line, then a new file appears.
        append(&log, "last of old\n");
        std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
        assert_eq!(follow.poll().unwrap().bytes, b"last of old\n", "the renamed file is read to its end");
        append(&log, "new 1\n");
        assert_eq!(follow.poll().unwrap(), NewLines { bytes: b"new 1\n".to_vec(), first_line: 1 });
        // Truncation (copytruncate): read again from the start. Seen by the size only, so
        // a file truncated and written past its old size between two looks is not.
        std::fs::write(&log, "").unwrap();
        assert_eq!(follow.poll().unwrap().bytes, b"");
        append(&log, "after truncate\n");
        assert_eq!(follow.poll().unwrap(), NewLines { bytes: b"after truncate\n".to_vec(), first_line: 1 });
        assert!(follow.retro().ends_with(b"new 1\nafter truncate\n"));
    }

    #[test]
    fn a_missing_file_is_followed_from_when_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("later.log");
        let mut follow = Follow::new(&log, false, 1 << 20, 0);
        assert_eq!(follow.poll().unwrap().bytes, b"");
        append(&log, "first\n");
        assert_eq!(follow.poll().unwrap().bytes, b"first\n");
        assert!(follow.retro().is_empty(), "no retro budget, nothing kept");
    }

    #[test]
    fn the_retro_buffer_keeps_the_last_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("r.log");
        let mut follow = Follow::new(&log, true, 1 << 20, 16);
        for i in 0..10 {
            append(&log, &format!("line {i}\n"));
            follow.poll().unwrap();
        }
        let retro = follow.retro();
        assert!(retro.len() <= 16 && retro.starts_with(b"line") && retro.ends_with(b"line 9\n"), "{retro:?}");
    }
}
