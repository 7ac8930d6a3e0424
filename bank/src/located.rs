//! A file the bank sent, as a tree of elements that each know their line.
//!
//! The `sepa` crate's readers return typed values but no positions, and a
//! reader of ours must name the element and the line of anything it refuses.
//! This tree is read once more with quick-xml (the XML reader under `sepa`):
//! it refuses what is not well-formed at the line where the XML breaks, and
//! lets a refusal point at the element it is about.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::error::{ReadError, ReadErrorKind};

/// The deepest nesting a file may have. ISO 20022 messages nest about 15
/// levels; the bound keeps a hostile file from growing the stack without end.
pub const XML_DEPTH_MAX: usize = 64;

/// One element: its local name (without a namespace prefix), its attributes,
/// its text, the line where its start tag begins, its children in order.
#[derive(Debug, Clone, Default)]
pub struct Element {
    /// The local name: `TxInfAndSts` for `<ns2:TxInfAndSts>`.
    pub name: String,
    /// Attributes as written (`Ccy`, `xmlns`), values unescaped.
    pub attributes: Vec<(String, String)>,
    /// The text directly inside, entities resolved, trimmed.
    pub text: String,
    /// The 1-based line of the start tag.
    pub line: u32,
    /// The child elements, in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`, in order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at a path of child names below this one.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    /// The value of an attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A refusal about this element.
    pub fn refuse(&self, kind: ReadErrorKind, reason: impl Into<String>) -> ReadError {
        ReadError {
            kind,
            element: self.name.clone(),
            line: self.line,
            reason: reason.into(),
        }
    }

    /// The text of the child at `path`, or a schema refusal naming the
    /// missing element at this element's line.
    pub fn required(&self, path: &[&str], why: &str) -> Result<&Element, ReadError> {
        self.at(path).ok_or_else(|| ReadError {
            kind: ReadErrorKind::Schema,
            element: format!("{}/{}", self.name, path.join("/")),
            line: self.line,
            reason: format!("missing: {why}"),
        })
    }
}

/// Counts lines as the reader moves forward, so that the whole file is
/// scanned for newlines once.
struct Lines<'a> {
    bytes: &'a [u8],
    scanned: usize,
    line: u32,
}

impl Lines<'_> {
    fn at(&mut self, position: u64) -> u32 {
        let end = usize::try_from(position)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if end > self.scanned {
            let newlines = self.bytes[self.scanned..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.line = self
                .line
                .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            self.scanned = end;
        }
        self.line
    }
}

/// Reads `bytes` into the tree of its root element.
///
/// # Errors
/// `Malformed` at the line where the XML breaks (a tag left open, a stray
/// closing tag, an undeclared entity, text that is not UTF-8), or a DOCTYPE,
/// which no ISO 20022 message carries and which would open the door to entity
/// expansion.
pub fn parse(bytes: &[u8]) -> Result<Element, ReadError> {
    let mut reader = Reader::from_reader(bytes);
    // Text is trimmed once the element is complete: trimming each piece
    // would drop the spaces around an entity (`a &amp; b`).
    reader.config_mut().trim_text(false);
    let mut lines = Lines {
        bytes,
        scanned: 0,
        line: 1,
    };
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let line = lines.at(reader.error_position());
            malformed(&stack, line, e.to_string())
        })?;
        let line = lines.at(before);
        match event {
            Event::Start(start) => {
                if stack.len() > XML_DEPTH_MAX {
                    return Err(malformed(
                        &stack,
                        line,
                        format!("nested deeper than xml_depth_max ({XML_DEPTH_MAX})"),
                    ));
                }
                let element = open(&start, line, &stack)?;
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = open(&start, line, &stack)?;
                attach(&mut stack, element);
            }
            Event::End(_) => {
                let done = stack.pop().filter(|_| !stack.is_empty());
                match done {
                    Some(e) => attach(&mut stack, e),
                    None => {
                        return Err(malformed(&stack, line, "a closing tag with no opening tag"))
                    }
                }
            }
            Event::Text(t) => {
                let text = t
                    .decode()
                    .map_err(|e| malformed(&stack, line, e.to_string()))?;
                append_text(&mut stack, &text);
            }
            Event::CData(t) => {
                let text = t
                    .decode()
                    .map_err(|e| malformed(&stack, line, e.to_string()))?;
                append_text(&mut stack, &text);
            }
            Event::GeneralRef(r) => {
                let name = r
                    .decode()
                    .map_err(|e| malformed(&stack, line, e.to_string()))?;
                let reference = format!("&{name};");
                let text = quick_xml::escape::unescape(&reference)
                    .map_err(|e| malformed(&stack, line, e.to_string()))?;
                append_text(&mut stack, &text);
            }
            Event::DocType(_) => {
                return Err(malformed(
                    &stack,
                    line,
                    "a DOCTYPE, which ISO 20022 messages never carry",
                ))
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    finish(stack, lines.line)
}

fn open(
    start: &quick_xml::events::BytesStart<'_>,
    line: u32,
    stack: &[Element],
) -> Result<Element, ReadError> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for a in start.attributes() {
        let a = a.map_err(|e| malformed(stack, line, e.to_string()))?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::default())
            .map_err(|e| malformed(stack, line, e.to_string()))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        attributes.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attributes,
        line,
        ..Element::default()
    })
}

fn attach(stack: &mut [Element], element: Element) {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(element);
    }
}

fn append_text(stack: &mut [Element], text: &str) {
    if let Some(e) = stack.last_mut() {
        e.text.push_str(text);
    }
}

fn finish(mut stack: Vec<Element>, last_line: u32) -> Result<Element, ReadError> {
    if stack.len() > 1 {
        let open = stack.last().map(|e| e.name.clone()).unwrap_or_default();
        return Err(ReadError {
            kind: ReadErrorKind::Malformed,
            element: open.clone(),
            line: last_line,
            reason: format!("the file ends before <{open}> is closed"),
        });
    }
    let mut document = stack.pop().unwrap_or_default();
    for e in &mut document.children {
        trim(e);
    }
    match document.children.len() {
        1 => Ok(document.children.remove(0)),
        n => Err(ReadError {
            kind: ReadErrorKind::Malformed,
            element: "Document".to_owned(),
            line: 1,
            reason: format!("{n} root elements: a message has exactly one"),
        }),
    }
}

fn trim(e: &mut Element) {
    let t = e.text.trim();
    if t.len() != e.text.len() {
        e.text = t.to_owned();
    }
    for c in &mut e.children {
        trim(c);
    }
}

fn malformed(stack: &[Element], line: u32, reason: impl Into<String>) -> ReadError {
    let element = stack
        .last()
        .map(|e| e.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Document".to_owned());
    ReadError {
        kind: ReadErrorKind::Malformed,
        element,
        line,
        reason: format!("not well-formed XML: {}", reason.into()),
    }
}
