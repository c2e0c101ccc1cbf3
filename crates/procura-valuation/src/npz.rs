//! Embedding datasets in NumPy `.npz` archives: read and written.
//!
//! An archive holds three arrays, each a `.npy` member of a zip file
//! (`numpy.savez` or `numpy.savez_compressed`):
//!
//! | array | shape | dtype |
//! |---|---|---|
//! | `x` | (rows, dim) | float32 or float64, either byte order, C or Fortran order |
//! | `y` | (rows,) | integers (int8 … uint64) or strings (`U` or `S`) |
//! | `provider` (optional) | (rows,) | integers or strings |
//!
//! Labels and providers come back as text, integers in decimal, so that
//! the classes of several files are numbered as those of CSV files are
//! ([`crate::table::Classes::of_labels`]).
//!
//! # What a file may ask of memory
//!
//! Nothing is allocated from a number in the file before it is checked:
//!
//! - a `.npy` header is at most [`MAX_HEADER_BYTES`] and nests at most
//!   four brackets deep;
//! - an array's shape is multiplied with overflow checks, and its data is
//!   at most [`MAX_ARRAY_BYTES`];
//! - the member's declared size must be exactly its header and data, and
//!   a compressed member may declare at most
//!   max([`MAX_COMPRESSION_RATIO`] × its compressed size, 64 MiB), so a
//!   small file cannot declare gigabytes (numbers of real embeddings
//!   compress by a few per cent, not 64-fold);
//! - the data is then read into a buffer of exactly that size.
//!
//! Errors ([`NpzError`]) name the array and, for a bad value, the row:
//! the caller adds the file's name.

use std::io::{self, Read, Seek, Write};

use py_literal::Value;

use crate::embeddings::Features;

/// Largest `.npy` header accepted (numpy writes about 128 bytes; its own
/// reader refuses more than 10,000 by default).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Largest data of one array, in bytes: 4 GiB, room for 10⁶ × 384
/// float64 rows (3.1 GB) or 2.8 × 10⁶ float32 rows.
pub const MAX_ARRAY_BYTES: u64 = 1 << 32;

/// How much larger than its compressed size a compressed member may say
/// it is, beyond the first 64 MiB.
pub const MAX_COMPRESSION_RATIO: u64 = 64;

/// Uncompressed size any member may declare, whatever its compressed size.
const FREE_UNCOMPRESSED_BYTES: u64 = 64 << 20;

/// Why an archive cannot be read or written. `array` is the array's name
/// in the archive (`x`, `y`, `provider`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NpzError {
    /// Not a zip archive, or a broken one.
    #[error("not a readable .npz (zip) archive: {message}")]
    Archive {
        /// The zip reader's message.
        message: String,
    },
    /// A required array is not in the archive.
    #[error("no array named {array:?} (the archive holds: {})", if .found.is_empty() { "nothing".to_owned() } else { .found.join(", ") })]
    MissingArray {
        /// The array looked for.
        array: &'static str,
        /// The arrays the archive holds.
        found: Vec<String>,
    },
    /// The `.npy` header is not one numpy writes.
    #[error("array {array}: {message}")]
    Header {
        /// The array.
        array: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The array's element type is not one this array may have.
    #[error("array {array}: dtype {dtype:?} is not {expected}")]
    DType {
        /// The array.
        array: &'static str,
        /// The dtype as written in the file.
        dtype: String,
        /// What it may be.
        expected: &'static str,
    },
    /// The array has the wrong number of dimensions.
    #[error("array {array}: shape {shape:?} has {} dimensions, expected {expected}", .shape.len())]
    Rank {
        /// The array.
        array: &'static str,
        /// Its shape.
        shape: Vec<u64>,
        /// The dimensions expected.
        expected: usize,
    },
    /// `x` has no rows or no columns.
    #[error("array x: shape {shape:?} has no {what}")]
    EmptyShape {
        /// Its shape.
        shape: Vec<u64>,
        /// "rows" or "columns".
        what: &'static str,
    },
    /// A 1-D array has another length than `x` has rows.
    #[error("array {array}: {len} entries, but x has {rows} rows")]
    Length {
        /// The array.
        array: &'static str,
        /// Its length.
        len: u64,
        /// Rows of `x`.
        rows: u64,
    },
    /// The array is larger than [`MAX_ARRAY_BYTES`].
    #[error("array {array}: shape {shape:?} is more than the limit of {max} bytes")]
    TooLarge {
        /// The array.
        array: &'static str,
        /// Its shape.
        shape: Vec<u64>,
        /// The limit.
        max: u64,
    },
    /// The member's size in the zip directory does not fit its header.
    #[error("array {array}: the archive says the member is {declared} bytes, but its header and data are {expected}")]
    MemberSize {
        /// The array.
        array: &'static str,
        /// The size the zip directory declares.
        declared: u64,
        /// Header plus data, from the `.npy` header.
        expected: u64,
    },
    /// A compressed member declares more than [`MAX_COMPRESSION_RATIO`]
    /// times its compressed size.
    #[error("array {array}: {declared} bytes compressed into {compressed}, more than {MAX_COMPRESSION_RATIO} to 1")]
    Compression {
        /// The array.
        array: &'static str,
        /// Declared uncompressed size.
        declared: u64,
        /// Compressed size.
        compressed: u64,
    },
    /// Reading the member failed (truncated data, a bad checksum).
    #[error("array {array}: {message}")]
    Read {
        /// The array.
        array: &'static str,
        /// The reader's message.
        message: String,
    },
    /// A value of `x` is NaN or infinite.
    #[error("array x: row {row}, column {column}: {value} is not finite")]
    NonFinite {
        /// 0-based row.
        row: usize,
        /// 0-based column.
        column: usize,
        /// The value.
        value: f64,
    },
    /// A string is not valid text.
    #[error("array {array}: row {row}: {message}")]
    Text {
        /// The array.
        array: &'static str,
        /// 0-based row.
        row: usize,
        /// What is wrong.
        message: String,
    },
    /// The arrays to write do not fit together.
    #[error("{message}")]
    Write {
        /// What is wrong.
        message: String,
    },
}

/// An embedding dataset as read: `x` and the text of `y` and `provider`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpzDataset {
    /// The rows of `x`, in the file's precision.
    pub features: Features,
    /// `y`, one label per row, as text.
    pub labels: Vec<String>,
    /// `provider`, one name per row, as text, when the file has it.
    pub providers: Option<Vec<String>>,
}

/// Reads an archive with arrays `x`, `y` and optionally `provider`. Other
/// arrays are ignored.
///
/// ```
/// use procura_valuation::npz;
/// let mut file = std::io::Cursor::new(Vec::new());
/// let labels = ["pos".to_owned(), "neg".to_owned()];
/// npz::write(&mut file, &[0.5, 1.0, -1.0, 0.25], 2, Some(&labels), None)?;
/// let data = npz::read(file)?;
/// assert_eq!((data.features.n_rows(), data.features.dim()), (2, 2));
/// assert_eq!(data.labels, labels);
/// assert_eq!(data.providers, None);
/// # Ok::<(), npz::NpzError>(())
/// ```
pub fn read<R: Read + Seek>(reader: R) -> Result<NpzDataset, NpzError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| NpzError::Archive {
        message: e.to_string(),
    })?;
    let x = read_array(&mut archive, "x")?.ok_or_else(|| missing(&archive, "x"))?;
    let features = x.into_features()?;
    let rows = features.n_rows();
    let labels = read_array(&mut archive, "y")?
        .ok_or_else(|| missing(&archive, "y"))?
        .into_text(rows)?;
    let providers = read_array(&mut archive, "provider")?
        .map(|array| array.into_text(rows))
        .transpose()?;
    Ok(NpzDataset {
        features,
        labels,
        providers,
    })
}

/// Writes an archive (stored, not compressed: embeddings do not compress)
/// with `x` as float32 rows of `dim` numbers and, when given, `y` and
/// `provider` as numpy unicode strings. Refuses lengths that do not fit
/// together ([`NpzError::Write`]).
pub fn write<W: Write + Seek>(
    writer: W,
    x: &[f32],
    dim: usize,
    labels: Option<&[String]>,
    providers: Option<&[String]>,
) -> Result<(), NpzError> {
    let fail = |message: String| NpzError::Write { message };
    if dim == 0 || !x.len().is_multiple_of(dim) {
        return Err(fail(format!(
            "x: {} numbers is not whole rows of {dim}",
            x.len()
        )));
    }
    let rows = x.len() / dim;
    for (name, text) in [("y", labels), ("provider", providers)] {
        if let Some(text) = text.filter(|text| text.len() != rows) {
            return Err(fail(format!(
                "{name}: {} entries, but x has {rows} rows",
                text.len()
            )));
        }
    }
    let io_error = |e: io::Error| fail(e.to_string());
    let mut zip = zip::ZipWriter::new(writer);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut start = |name: &str| {
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| fail(e.to_string()))
    };
    start("x")?;
    let header = npy_header("<f4", &[rows, dim]);
    zip.write_all(&header).map_err(io_error)?;
    let mut bytes = Vec::with_capacity(x.len().min(1 << 20) * 4);
    for chunk in x.chunks(1 << 20) {
        bytes.clear();
        bytes.extend(chunk.iter().flat_map(|value| value.to_le_bytes()));
        zip.write_all(&bytes).map_err(io_error)?;
    }
    for (name, text) in [("y", labels), ("provider", providers)] {
        let Some(text) = text else { continue };
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| fail(e.to_string()))?;
        let width = text
            .iter()
            .map(|item| item.chars().count())
            .max()
            .unwrap_or(0)
            .max(1);
        zip.write_all(&npy_header(&format!("<U{width}"), &[rows]))
            .map_err(io_error)?;
        for item in text {
            bytes.clear();
            let chars = item.chars().map(u32::from);
            let padded = chars.chain(std::iter::repeat(0)).take(width);
            bytes.extend(padded.flat_map(u32::to_le_bytes));
            zip.write_all(&bytes).map_err(io_error)?;
        }
    }
    zip.finish().map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// A `.npy` version 1.0 header for C-order `descr` data of `shape`,
/// padded with spaces so the data starts at a multiple of 64 bytes, as
/// numpy writes it.
fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let shape = match shape {
        [len] => format!("({len},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + length (2) + dict + '\n'
    let unpadded = 10 + dict.len() + 1;
    dict.extend(std::iter::repeat_n(
        ' ',
        unpadded.next_multiple_of(64) - unpadded,
    ));
    dict.push('\n');
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    // The dict is ASCII and short: well within u16.
    header.extend((dict.len() as u16).to_le_bytes());
    header.extend(dict.as_bytes());
    header
}

/// The error for a missing array, listing what the archive holds.
fn missing<R: Read + Seek>(archive: &zip::ZipArchive<R>, array: &'static str) -> NpzError {
    let found = archive
        .file_names()
        .filter_map(Result::ok)
        .filter_map(|name| name.strip_suffix(".npy").map(str::to_owned))
        .collect();
    NpzError::MissingArray { array, found }
}

/// An array's element type, as far as these files use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    /// IEEE float of 4 or 8 bytes.
    Float { bytes: usize, big_endian: bool },
    /// Integer of 1, 2, 4 or 8 bytes.
    Int {
        bytes: usize,
        signed: bool,
        big_endian: bool,
    },
    /// UTF-32 text of `chars` code points (`U`).
    Unicode { chars: usize, big_endian: bool },
    /// Bytes, NUL-padded, of `bytes` bytes (`S`).
    Bytes { bytes: usize },
}

impl Element {
    /// Parses a numpy type string such as `<f4`, `|u1`, `<U12`, `|S5`.
    fn parse(descr: &str) -> Option<Element> {
        let mut chars = descr.chars();
        let order = chars.next()?;
        let kind = chars.next()?;
        let size: usize = chars.as_str().parse().ok()?;
        let big_endian = match order {
            '>' => true,
            '<' | '|' | '=' => cfg!(target_endian = "big") && order == '=',
            _ => return None,
        };
        match (kind, size) {
            ('f', 4 | 8) => Some(Element::Float {
                bytes: size,
                big_endian,
            }),
            ('i' | 'u', 1 | 2 | 4 | 8) => Some(Element::Int {
                bytes: size,
                signed: kind == 'i',
                big_endian,
            }),
            ('U', 1..) => Some(Element::Unicode {
                chars: size,
                big_endian,
            }),
            ('S', 1..) => Some(Element::Bytes { bytes: size }),
            _ => None,
        }
    }

    /// Bytes per element; `None` when that overflows.
    fn size(self) -> Option<u64> {
        match self {
            Element::Float { bytes, .. }
            | Element::Int { bytes, .. }
            | Element::Bytes { bytes } => u64::try_from(bytes).ok(),
            Element::Unicode { chars, .. } => u64::try_from(chars).ok()?.checked_mul(4),
        }
    }
}

/// One array: its element type, shape, order and raw data.
#[derive(Debug)]
struct RawArray {
    name: &'static str,
    element: Element,
    descr: String,
    shape: Vec<u64>,
    fortran_order: bool,
    data: Payload,
}

/// An array's data: the raw bytes, or (for floats in C order) the values,
/// decoded a chunk at a time as they are read so that the bytes are
/// never held beside them.
#[derive(Debug)]
enum Payload {
    Bytes(Vec<u8>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Reads `count` floats of `bytes` bytes each from `reader` in chunks.
fn read_floats<T>(
    reader: &mut impl Read,
    count: usize,
    decode: impl Fn(&[u8]) -> T,
    bytes: usize,
) -> io::Result<Vec<T>> {
    let mut values = Vec::with_capacity(count);
    let mut chunk = vec![0u8; (1 << 16) * bytes];
    let mut left = count;
    while left > 0 {
        let take = left.min(1 << 16);
        let chunk = &mut chunk[..take * bytes];
        reader.read_exact(chunk)?;
        values.extend(chunk.chunks_exact(bytes).map(&decode));
        left -= take;
    }
    Ok(values)
}

/// Reads array `name` (member `name.npy`), `None` when there is none.
fn read_array<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &'static str,
) -> Result<Option<RawArray>, NpzError> {
    let member = format!("{name}.npy");
    if archive.index_for_name(&member).is_none() {
        return Ok(None);
    }
    let read_error = |e: &dyn std::fmt::Display| NpzError::Read {
        array: name,
        message: e.to_string(),
    };
    let mut file = archive.by_name(&member).map_err(|e| read_error(&e))?;
    let declared = file.size();
    let compressed = file.compressed_size();
    if declared > FREE_UNCOMPRESSED_BYTES
        && declared / MAX_COMPRESSION_RATIO > compressed
        && file.compression() != zip::CompressionMethod::Stored
    {
        return Err(NpzError::Compression {
            array: name,
            declared,
            compressed,
        });
    }
    let header_error = |message: String| NpzError::Header {
        array: name,
        message,
    };
    let mut preamble = [0u8; 8];
    file.read_exact(&mut preamble)
        .map_err(|_| header_error("not a .npy array: shorter than its magic".to_owned()))?;
    if &preamble[..6] != b"\x93NUMPY" {
        return Err(header_error(
            "not a .npy array: no \\x93NUMPY magic".to_owned(),
        ));
    }
    let header_len = match preamble[6] {
        1 => {
            let mut len = [0u8; 2];
            file.read_exact(&mut len).map_err(|e| read_error(&e))?;
            usize::from(u16::from_le_bytes(len))
        }
        2 | 3 => {
            let mut len = [0u8; 4];
            file.read_exact(&mut len).map_err(|e| read_error(&e))?;
            usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX)
        }
        version => {
            return Err(header_error(format!(
                ".npy format version {version} is not 1, 2 or 3"
            )))
        }
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(header_error(format!(
            "header of {header_len} bytes is more than the limit of {MAX_HEADER_BYTES}"
        )));
    }
    let mut text = vec![0u8; header_len];
    file.read_exact(&mut text)
        .map_err(|_| header_error("the header is cut short".to_owned()))?;
    let header = parse_header(&text).map_err(header_error)?;
    let element = Element::parse(&header.descr).ok_or_else(|| NpzError::DType {
        array: name,
        dtype: header.descr.clone(),
        expected: "a float, integer or string type",
    })?;
    let too_large = || NpzError::TooLarge {
        array: name,
        shape: header.shape.clone(),
        max: MAX_ARRAY_BYTES,
    };
    let data_bytes = header
        .shape
        .iter()
        .try_fold(1u64, |product, &dim| product.checked_mul(dim))
        .and_then(|len| len.checked_mul(element.size()?))
        .ok_or_else(too_large)?;
    if data_bytes > MAX_ARRAY_BYTES {
        return Err(too_large());
    }
    let preamble_len = if preamble[6] == 1 { 10 } else { 12 };
    let expected = data_bytes + preamble_len + header_len as u64;
    if declared != expected {
        return Err(NpzError::MemberSize {
            array: name,
            declared,
            expected,
        });
    }
    // Bounded above: at most MAX_ARRAY_BYTES, and no more than the member
    // declares, which the compression rule bounds by the file's size.
    let data_len = usize::try_from(data_bytes).map_err(|_| too_large())?;
    let data = match element {
        Element::Float { bytes, big_endian } if !header.fortran_order => {
            let count = data_len / bytes;
            if bytes == 4 {
                let decode = |raw: &[u8]| {
                    let raw = [raw[0], raw[1], raw[2], raw[3]];
                    if big_endian {
                        f32::from_be_bytes(raw)
                    } else {
                        f32::from_le_bytes(raw)
                    }
                };
                Payload::F32(read_floats(&mut file, count, decode, 4).map_err(|e| read_error(&e))?)
            } else {
                let decode = |raw: &[u8]| {
                    let mut bits = [0u8; 8];
                    bits.copy_from_slice(raw);
                    if big_endian {
                        f64::from_be_bytes(bits)
                    } else {
                        f64::from_le_bytes(bits)
                    }
                };
                Payload::F64(read_floats(&mut file, count, decode, 8).map_err(|e| read_error(&e))?)
            }
        }
        _ => {
            let mut data = vec![0u8; data_len];
            file.read_exact(&mut data).map_err(|e| read_error(&e))?;
            Payload::Bytes(data)
        }
    };
    Ok(Some(RawArray {
        name,
        element,
        descr: header.descr,
        shape: header.shape,
        fortran_order: header.fortran_order,
        data,
    }))
}

/// The fields of a `.npy` header.
#[derive(Debug)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// Parses the header's Python dict literal: `descr` (a plain type
/// string), `fortran_order` and `shape`.
fn parse_header(text: &[u8]) -> Result<Header, String> {
    let text = std::str::from_utf8(text).map_err(|_| "the header is not text".to_owned())?;
    // The dict nests a tuple in it; refuse deep nesting before the
    // (recursive) parser sees it.
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > 4 {
            return Err("the header nests brackets more than 4 deep".to_owned());
        }
    }
    let value: Value = text
        .trim_end()
        .parse()
        .map_err(|_| format!("the header {:?} is not a Python literal", text.trim_end()))?;
    let Value::Dict(entries) = value else {
        return Err("the header is not a dict".to_owned());
    };
    let field = |key: &str| {
        entries
            .iter()
            .find(|(name, _)| matches!(name, Value::String(name) if name == key))
            .map(|(_, value)| value)
            .ok_or_else(|| format!("the header has no {key:?}"))
    };
    let descr = match field("descr")? {
        Value::String(descr) => descr.clone(),
        other => {
            return Err(format!(
                "dtype {other} is not a plain type (a structured dtype?)"
            ))
        }
    };
    let fortran_order = match field("fortran_order")? {
        Value::Boolean(order) => *order,
        _ => return Err("fortran_order is not True or False".to_owned()),
    };
    let Value::Tuple(dims) = field("shape")? else {
        return Err("shape is not a tuple".to_owned());
    };
    let shape = dims
        .iter()
        .map(|dim| match dim {
            Value::Integer(dim) => {
                u64::try_from(dim).map_err(|_| format!("shape: {dim} is not a size"))
            }
            other => Err(format!("shape: {other} is not an integer")),
        })
        .collect::<Result<Vec<u64>, String>>()?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

impl RawArray {
    /// `x` as rows: a 2-D float array with at least one row and column,
    /// every value finite.
    fn into_features(self) -> Result<Features, NpzError> {
        let Element::Float { bytes, big_endian } = self.element else {
            return Err(NpzError::DType {
                array: self.name,
                dtype: self.descr,
                expected: "float32 or float64",
            });
        };
        let &[rows, columns] = self.shape.as_slice() else {
            return Err(NpzError::Rank {
                array: self.name,
                shape: self.shape,
                expected: 2,
            });
        };
        for (len, what) in [(rows, "rows"), (columns, "columns")] {
            if len == 0 {
                return Err(NpzError::EmptyShape {
                    shape: self.shape,
                    what,
                });
            }
        }
        // rows × columns × bytes ≤ MAX_ARRAY_BYTES: both fit in usize.
        let (rows, dim) = (rows as usize, columns as usize);
        let fortran = self.fortran_order;
        // Position of C-order value i in the file's order.
        let source = |i: usize| {
            if fortran {
                (i % dim) * rows + i / dim
            } else {
                i
            }
        };
        let data = match self.data {
            Payload::F32(values) => return finite_f32(values, dim),
            Payload::F64(values) => return finite_f64(values, dim),
            Payload::Bytes(data) => data,
        };
        if bytes == 4 {
            let value = |at: usize| {
                let raw: [u8; 4] = [
                    data[4 * at],
                    data[4 * at + 1],
                    data[4 * at + 2],
                    data[4 * at + 3],
                ];
                if big_endian {
                    f32::from_be_bytes(raw)
                } else {
                    f32::from_le_bytes(raw)
                }
            };
            let values: Vec<f32> = (0..rows * dim).map(|i| value(source(i))).collect();
            finite_f32(values, dim)
        } else {
            let value = |at: usize| {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&data[8 * at..8 * at + 8]);
                if big_endian {
                    f64::from_be_bytes(raw)
                } else {
                    f64::from_le_bytes(raw)
                }
            };
            let values: Vec<f64> = (0..rows * dim).map(|i| value(source(i))).collect();
            finite_f64(values, dim)
        }
    }

    /// A 1-D array of `rows` integers or strings, as text.
    fn into_text(self, rows: usize) -> Result<Vec<String>, NpzError> {
        let &[len] = self.shape.as_slice() else {
            return Err(NpzError::Rank {
                array: self.name,
                shape: self.shape,
                expected: 1,
            });
        };
        if len != rows as u64 {
            return Err(NpzError::Length {
                array: self.name,
                len,
                rows: rows as u64,
            });
        }
        let name = self.name;
        let text_error = |row: usize, message: &str| NpzError::Text {
            array: name,
            row,
            message: message.to_owned(),
        };
        let Some(size) = self
            .element
            .size()
            .and_then(|size| usize::try_from(size).ok())
        else {
            return Err(text_error(0, "element too large"));
        };
        let Payload::Bytes(data) = &self.data else {
            return Err(NpzError::DType {
                array: self.name,
                dtype: self.descr,
                expected: "integers or strings",
            });
        };
        let items = data.chunks_exact(size.max(1)).take(rows);
        match self.element {
            Element::Int {
                signed, big_endian, ..
            } => Ok(items
                .map(|raw| integer_text(raw, signed, big_endian))
                .collect()),
            Element::Unicode { big_endian, .. } => items
                .enumerate()
                .map(|(row, raw)| {
                    raw.chunks_exact(4)
                        .map(|unit| {
                            let unit = [unit[0], unit[1], unit[2], unit[3]];
                            if big_endian {
                                u32::from_be_bytes(unit)
                            } else {
                                u32::from_le_bytes(unit)
                            }
                        })
                        .take_while(|&unit| unit != 0)
                        .map(|unit| {
                            char::from_u32(unit)
                                .ok_or_else(|| text_error(row, "not a Unicode code point"))
                        })
                        .collect::<Result<String, NpzError>>()
                })
                .collect(),
            Element::Bytes { .. } => items
                .enumerate()
                .map(|(row, raw)| {
                    let end = raw.iter().position(|&byte| byte == 0).unwrap_or(raw.len());
                    std::str::from_utf8(&raw[..end])
                        .map(str::to_owned)
                        .map_err(|_| text_error(row, "not UTF-8 text"))
                })
                .collect(),
            Element::Float { .. } => Err(NpzError::DType {
                array: self.name,
                dtype: self.descr,
                expected: "integers or strings",
            }),
        }
    }
}

/// `x` as rows, every value finite (else [`NpzError::NonFinite`]); the
/// shape was checked: whole rows of `dim ≥ 1`, at least one.
fn finite_f32(values: Vec<f32>, dim: usize) -> Result<Features, NpzError> {
    Features::from_f32(values, dim).map_err(|e| x_error(&e))
}

/// As [`finite_f32`], for float64 values.
fn finite_f64(values: Vec<f64>, dim: usize) -> Result<Features, NpzError> {
    Features::from_f64(values, dim).map_err(|e| x_error(&e))
}

/// The error of `x`'s rows.
fn x_error(error: &crate::DatasetError) -> NpzError {
    match *error {
        crate::DatasetError::NonFinite {
            row,
            feature,
            value,
        } => NpzError::NonFinite {
            row,
            column: feature,
            value,
        },
        ref other => NpzError::Header {
            array: "x",
            message: other.to_string(),
        },
    }
}

/// An integer of 1 to 8 bytes in decimal.
fn integer_text(raw: &[u8], signed: bool, big_endian: bool) -> String {
    let mut bytes = [0u8; 8];
    let width = raw.len();
    if big_endian {
        bytes[8 - width..].copy_from_slice(raw);
        bytes.reverse();
    } else {
        bytes[..width].copy_from_slice(raw);
    }
    // `bytes` is now little-endian, zero-extended.
    let unsigned = u64::from_le_bytes(bytes);
    if signed && width < 8 && raw_is_negative(unsigned, width) {
        let extended = unsigned | (u64::MAX << (8 * width));
        (extended as i64).to_string()
    } else if signed {
        (unsigned as i64).to_string()
    } else {
        unsigned.to_string()
    }
}

/// Whether the sign bit of a `width`-byte integer is set.
fn raw_is_negative(value: u64, width: usize) -> bool {
    value >> (8 * width - 1) & 1 == 1
}
