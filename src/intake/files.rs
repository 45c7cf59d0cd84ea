//! The embedded default source: .eml files, Maildirs, directories of .eml
//! files, mbox archives and stdin.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Why an `ingest` argument could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is a directory but neither a Maildir (cur/, new/, tmp/) nor a folder of .eml files"
    )]
    NotMailDir { path: PathBuf },
    #[error("{path} is empty")]
    Empty { path: PathBuf },
    #[error("standard input is empty")]
    EmptyStdin,
    #[error("message {number} of the mbox {path} is empty")]
    EmptyMboxMessage { path: PathBuf, number: usize },
}

/// A file opened ahead of reading it (`None`: stdin, read when its turn
/// comes).
#[derive(Debug)]
pub struct Opened(Option<std::io::Result<std::fs::File>>);

/// The whole of an opened file; empty (or blank) is an error.
fn read_file(path: &Path, file: std::io::Result<std::fs::File>) -> Result<Vec<u8>, FilesError> {
    let error = |source| FilesError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = file.map_err(error)?;
    // Sized from the file, as `std::fs::read` does.
    let size = file.metadata().map_or(0, |m| m.len() as usize);
    let mut bytes = Vec::with_capacity(size);
    file.read_to_end(&mut bytes).map_err(error)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FilesError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// One message to read: a file, one message of an mbox archive, or stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    File(PathBuf),
    Mbox(MboxMessage),
    Stdin,
}

/// The `number`th message (from 1) of an mbox archive, at `range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    pub path: PathBuf,
    pub number: usize,
    range: std::ops::Range<u64>,
}

impl MboxMessage {
    fn read(&self, file: std::io::Result<std::fs::File>) -> Result<Vec<u8>, FilesError> {
        let error = |source| FilesError::Read {
            path: self.path.clone(),
            source,
        };
        let bytes =
            super::mbox::read_message(&mut file.map_err(error)?, &self.range).map_err(error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(FilesError::EmptyMboxMessage {
                path: self.path.clone(),
                number: self.number,
            });
        }
        Ok(bytes)
    }
}

impl Item {
    pub fn source(&self) -> String {
        match self {
            Item::File(p) => format!("file:{}", p.display()),
            Item::Mbox(m) => format!("mbox:{}#{}", m.path.display(), m.number),
            Item::Stdin => "stdin".to_string(),
        }
    }

    /// Open the file now and ask the kernel to start reading it in the
    /// background (the first MB), so that [`Item::read_opened`] later finds
    /// it in memory. Opening many files ahead of reading them keeps the
    /// disk busy with many requests instead of one at a time: a cold
    /// 20,000-mail Maildir took 2.6 times as long to import as a cached one.
    pub fn open_ahead(&self) -> Opened {
        let (path, start) = match self {
            Item::File(path) => (path, 0),
            Item::Mbox(m) => (&m.path, m.range.start),
            Item::Stdin => return Opened(None),
        };
        let file = std::fs::File::open(path);
        if let Ok(f) = &file {
            // Only a hint: a failure changes nothing but speed.
            let _ = rustix::fs::fadvise(
                f,
                start,
                std::num::NonZeroU64::new(1 << 20),
                rustix::fs::Advice::WillNeed,
            );
        }
        Opened(Some(file))
    }

    /// Read what [`Item::open_ahead`] opened (as [`Item::read`] does).
    pub fn read_opened(&self, opened: Opened) -> Result<Vec<u8>, FilesError> {
        match (self, opened) {
            (Item::File(path), Opened(Some(file))) => read_file(path, file),
            (Item::Mbox(m), Opened(Some(file))) => m.read(file),
            _ => self.read(),
        }
    }

    /// Read the bytes; empty input is an error, anything else is returned as is.
    pub fn read(&self) -> Result<Vec<u8>, FilesError> {
        match self {
            Item::File(path) => read_file(path, std::fs::File::open(path)),
            Item::Mbox(m) => m.read(std::fs::File::open(&m.path)),
            Item::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .lock()
                    .read_to_end(&mut bytes)
                    .map_err(|source| FilesError::Read {
                        path: PathBuf::from("-"),
                        source,
                    })?;
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Err(FilesError::EmptyStdin);
                }
                Ok(bytes)
            }
        }
    }
}

/// Expand one `ingest` argument into the messages it names, in order:
/// `-` is stdin; a Maildir gives new/ then cur/, each by file name; a
/// directory gives its files by name; an mbox archive gives its messages;
/// any other file is itself.
pub fn expand(arg: &str) -> Result<Vec<Item>, FilesError> {
    if arg == "-" {
        return Ok(vec![Item::Stdin]);
    }
    let path = Path::new(arg);
    let meta = std::fs::metadata(path).map_err(|source| FilesError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return file_items(path);
    }
    if is_maildir(path) {
        let mut items = sorted_files(&path.join("new"))?;
        items.extend(sorted_files(&path.join("cur"))?);
        return Ok(items);
    }
    let mut items = Vec::new();
    // Archives kept beside .eml files are read as archives; other files are
    // not opened here (listing a large folder stays a directory read).
    for item in sorted_files(path)? {
        match item {
            Item::File(p) if is_mbox_name(&p) => items.extend(file_items(&p)?),
            other => items.push(other),
        }
    }
    if items.is_empty() {
        return Err(FilesError::NotMailDir {
            path: path.to_path_buf(),
        });
    }
    Ok(items)
}

fn is_mbox_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mbox") || e.eq_ignore_ascii_case("mbx"))
}

/// A file's messages: those of an mbox archive, else the file itself.
fn file_items(path: &Path) -> Result<Vec<Item>, FilesError> {
    if super::mbox::looks_like_mbox(path) {
        let ranges = super::mbox::split(path).map_err(|source| FilesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // One message behind a `From ` line is kept as the file it is
        // (byte-exact, as before); an archive is split.
        if ranges.len() > 1 {
            return Ok(ranges
                .into_iter()
                .enumerate()
                .map(|(i, range)| {
                    Item::Mbox(MboxMessage {
                        path: path.to_path_buf(),
                        number: i + 1,
                        range,
                    })
                })
                .collect());
        }
    }
    Ok(vec![Item::File(path.to_path_buf())])
}

pub fn is_maildir(path: &Path) -> bool {
    path.join("cur").is_dir() && path.join("new").is_dir()
}

/// Regular files in `dir` by name, skipping hidden ones (Maildir writers
/// and editors leave dot files behind).
fn sorted_files(dir: &Path) -> Result<Vec<Item>, FilesError> {
    let read = |source| FilesError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        if entry.file_type().map_err(read)?.is_file() {
            names.push(name);
        }
    }
    // By the bytes of the name: the same order as sorting the paths (one
    // folder), without comparing them component by component, which took a
    // large Maildir's listing longer than reading it.
    names.sort_unstable_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    Ok(names
        .into_iter()
        .map(|name| Item::File(dir.join(name)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opened_ahead_reads_the_same_bytes_and_the_same_errors() {
        let d = tempfile::tempdir().unwrap();
        let mail = d.path().join("a.eml");
        let bytes = b"From: a@b\r\nSubject: x\r\n\r\n\xe9 body\r\n".repeat(700);
        std::fs::write(&mail, &bytes).unwrap();
        let empty = d.path().join("empty.eml");
        std::fs::write(&empty, " \n").unwrap();
        let gone = d.path().join("gone.eml");
        let items = [Item::File(mail), Item::File(empty), Item::File(gone)];
        // All opened before any is read, as `ingest` does.
        let opened: Vec<Opened> = items.iter().map(Item::open_ahead).collect();
        let mut results = items.iter().zip(opened).map(|(i, o)| i.read_opened(o));
        assert_eq!(results.next().unwrap().unwrap(), bytes);
        assert!(matches!(
            results.next().unwrap(),
            Err(FilesError::Empty { .. })
        ));
        assert!(matches!(
            results.next().unwrap(),
            Err(FilesError::Read { .. })
        ));
    }

    #[test]
    fn maildir_lists_new_before_cur_each_by_name() {
        let d = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir(d.path().join(sub)).unwrap();
        }
        std::fs::write(d.path().join("cur/1"), "a").unwrap();
        std::fs::write(d.path().join("new/2"), "b").unwrap();
        std::fs::write(d.path().join("new/1"), "c").unwrap();
        std::fs::write(d.path().join("tmp/0"), "d").unwrap();
        let items = expand(d.path().to_str().unwrap()).unwrap();
        let names: Vec<_> = items
            .iter()
            .map(|i| match i {
                Item::File(p) => p.strip_prefix(d.path()).unwrap().display().to_string(),
                Item::Mbox(_) | Item::Stdin => "-".into(),
            })
            .collect();
        assert_eq!(names, ["new/1", "new/2", "cur/1"]);
    }

    #[test]
    fn archives_in_a_folder_are_split_and_other_files_are_not_opened() {
        let d = tempfile::tempdir().unwrap();
        let two = "From a@x Mon Nov 23 09:12:00 2026\nFrom: a@x\n\none\n\n\
                   From b@x Mon Nov 23 09:13:00 2026\nFrom: b@x\n\ntwo\n";
        std::fs::write(d.path().join("a.eml"), "From: c@x\n\nthree\n").unwrap();
        std::fs::write(d.path().join("old.MBOX"), two).unwrap();
        // Named .eml: read as one message, whatever it holds.
        std::fs::write(d.path().join("z.eml"), two).unwrap();
        let items = expand(d.path().to_str().unwrap()).unwrap();
        let sources: Vec<String> = items
            .iter()
            .map(|i| i.source().rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(sources, ["a.eml", "old.MBOX#1", "old.MBOX#2", "z.eml"]);
        assert_eq!(items[2].read().unwrap(), b"From: b@x\n\ntwo\n");
    }

    #[test]
    fn empty_directory_is_not_a_mail_source() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            expand(d.path().to_str().unwrap()),
            Err(FilesError::NotMailDir { .. })
        ));
    }
}
