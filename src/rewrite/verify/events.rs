//! libyaml's event stream, one event at a time.
//!
//! serde_yaml reads a whole document into a buffer of owned events before
//! it hands out a value (about ten times the input in memory, and as much
//! again in allocations). The verification only needs each event once, in
//! order, so it drives the parser itself: the same libyaml (the
//! `unsafe-libyaml` translation serde_yaml is built on), no buffer. This is
//! the one place in the crate that calls into it, so the `unsafe` stays
//! here, behind [`Events`] and [`Event`].

use std::marker::PhantomData;
use std::mem::MaybeUninit;

/// One event, borrowed from the parser until the next is read.
pub(super) enum Event<'e> {
    DocumentStart,
    DocumentEnd,
    StreamEnd,
    Alias(&'e [u8]),
    Scalar {
        properties: Properties<'e>,
        value: &'e [u8],
        /// Plain scalars are resolved by their text (`1`, `true`, `~`);
        /// every other style is a string.
        plain: bool,
    },
    SequenceStart(Properties<'e>),
    SequenceEnd,
    MappingStart(Properties<'e>),
    MappingEnd,
}

/// `&anchor` and `!tag` of a node, as libyaml resolved them (`!!str` reads
/// `tag:yaml.org,2002:str`).
pub(super) struct Properties<'e> {
    pub anchor: Option<&'e [u8]>,
    pub tag: Option<&'e [u8]>,
}

/// libyaml stopped at a syntax error.
#[derive(Debug)]
pub(super) struct Stopped;

/// A libyaml parser over a borrowed text.
pub(super) struct Events<'t> {
    /// Boxed: libyaml keeps pointers into the parser while it runs.
    parser: Box<unsafe_libyaml::yaml_parser_t>,
    /// The event handed out last, freed when the next is read.
    event: Box<MaybeUninit<unsafe_libyaml::yaml_event_t>>,
    holds_event: bool,
    failed: bool,
    text: PhantomData<&'t str>,
}

impl<'t> Events<'t> {
    pub fn new(text: &'t str) -> Events<'t> {
        let mut parser: Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>> =
            Box::new(MaybeUninit::uninit());
        // SAFETY: initialize fills the whole struct; the input outlives the
        // parser (`'t`), which reads it in place.
        let parser = unsafe {
            if unsafe_libyaml::yaml_parser_initialize(parser.as_mut_ptr()).fail {
                panic!("libyaml could not allocate its parser");
            }
            // No encoding set: libyaml then reads a byte order mark as one
            // (and skips it) rather than as a character of the first key.
            unsafe_libyaml::yaml_parser_set_input_string(
                parser.as_mut_ptr(),
                text.as_ptr(),
                text.len() as u64,
            );
            Box::from_raw(Box::into_raw(parser).cast::<unsafe_libyaml::yaml_parser_t>())
        };
        Events {
            parser,
            event: Box::new(MaybeUninit::uninit()),
            holds_event: false,
            failed: false,
            text: PhantomData,
        }
    }

    /// The next event, or [`Stopped`] at a syntax error. After an error or
    /// the end of the stream, every call fails.
    pub fn next(&mut self) -> Result<Event<'_>, Stopped> {
        loop {
            self.release();
            if self.failed {
                return Err(Stopped);
            }
            // SAFETY: the parser is initialised; a successful parse fills
            // the event, which stays alive (and is only read) until
            // `release`.
            unsafe {
                if unsafe_libyaml::yaml_parser_parse(&mut *self.parser, self.event.as_mut_ptr())
                    .fail
                {
                    self.failed = true;
                    return Err(Stopped);
                }
                self.holds_event = true;
                // The stream start carries nothing the reading needs.
                if self.event.assume_init_ref().type_ != unsafe_libyaml::YAML_STREAM_START_EVENT {
                    break;
                }
            }
        }
        // SAFETY: filled by the successful parse above.
        let event = unsafe { self.event.assume_init_ref() };
        if event.type_ == unsafe_libyaml::YAML_STREAM_END_EVENT {
            self.failed = true;
        }
        // SAFETY: each union field read is the one the event's type selects;
        // the strings live in the event until `release`.
        Ok(unsafe {
            match event.type_ {
                unsafe_libyaml::YAML_DOCUMENT_START_EVENT => Event::DocumentStart,
                unsafe_libyaml::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
                unsafe_libyaml::YAML_ALIAS_EVENT => {
                    Event::Alias(c_bytes(event.data.alias.anchor).unwrap_or(b""))
                }
                unsafe_libyaml::YAML_SCALAR_EVENT => {
                    let scalar = event.data.scalar;
                    Event::Scalar {
                        properties: Properties {
                            anchor: c_bytes(scalar.anchor),
                            tag: c_bytes(scalar.tag),
                        },
                        value: if scalar.value.is_null() {
                            b""
                        } else {
                            std::slice::from_raw_parts(scalar.value, scalar.length as usize)
                        },
                        plain: scalar.style == unsafe_libyaml::YAML_PLAIN_SCALAR_STYLE,
                    }
                }
                unsafe_libyaml::YAML_SEQUENCE_START_EVENT => Event::SequenceStart(Properties {
                    anchor: c_bytes(event.data.sequence_start.anchor),
                    tag: c_bytes(event.data.sequence_start.tag),
                }),
                unsafe_libyaml::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
                unsafe_libyaml::YAML_MAPPING_START_EVENT => Event::MappingStart(Properties {
                    anchor: c_bytes(event.data.mapping_start.anchor),
                    tag: c_bytes(event.data.mapping_start.tag),
                }),
                unsafe_libyaml::YAML_MAPPING_END_EVENT => Event::MappingEnd,
                _ => Event::StreamEnd,
            }
        })
    }

    fn release(&mut self) {
        if self.holds_event {
            // SAFETY: the event was filled by a successful parse and is
            // freed once.
            unsafe { unsafe_libyaml::yaml_event_delete(self.event.as_mut_ptr()) };
            self.holds_event = false;
        }
    }
}

impl Drop for Events<'_> {
    fn drop(&mut self) {
        self.release();
        // SAFETY: the parser was initialised in `new` and is freed once.
        unsafe { unsafe_libyaml::yaml_parser_delete(&mut *self.parser) };
    }
}

/// A NUL-terminated string libyaml owns, without its NUL.
///
/// SAFETY: `ptr` is null or points to a NUL-terminated string that lives as
/// long as the event that holds it.
unsafe fn c_bytes<'e>(ptr: *const u8) -> Option<&'e [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: see above.
    Some(unsafe { std::ffi::CStr::from_ptr(ptr.cast()) }.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Result<Vec<String>, Stopped> {
        let mut events = Events::new(text);
        let mut out = Vec::new();
        loop {
            let kind = match events.next()? {
                Event::DocumentStart => "doc".to_string(),
                Event::DocumentEnd => "/doc".into(),
                Event::StreamEnd => break,
                Event::Alias(name) => format!("*{}", String::from_utf8_lossy(name)),
                Event::Scalar {
                    properties,
                    value,
                    plain,
                } => format!(
                    "{}{}{}{}",
                    properties.anchor.map_or(String::new(), |a| format!(
                        "&{} ",
                        String::from_utf8_lossy(a)
                    )),
                    properties.tag.map_or(String::new(), |t| format!(
                        "<{}> ",
                        String::from_utf8_lossy(t)
                    )),
                    if plain { "" } else { "'" },
                    String::from_utf8_lossy(value)
                ),
                Event::SequenceStart(_) => "[".into(),
                Event::SequenceEnd => "]".into(),
                Event::MappingStart(_) => "{".into(),
                Event::MappingEnd => "}".into(),
            };
            out.push(kind);
        }
        Ok(out)
    }

    #[test]
    fn events_come_in_document_order() {
        assert_eq!(
            kinds("a: &x 'b'\nc: [*x, !!str 1, !reference [d]]\n").unwrap(),
            [
                "doc",
                "{",
                "a",
                "&x 'b",
                "c",
                "[",
                "*x",
                "<tag:yaml.org,2002:str> 1",
                "[",
                "d",
                "]",
                "]",
                "}",
                "/doc"
            ]
        );
    }

    #[test]
    fn a_syntax_error_stops_the_stream() {
        let mut events = Events::new("a: [\n");
        loop {
            match events.next() {
                Ok(Event::StreamEnd) => panic!("no error"),
                Ok(_) => {}
                Err(Stopped) => break,
            }
        }
        assert!(events.next().is_err());
    }
}
