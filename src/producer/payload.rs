//! The bytes of a record's key or value.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// The bytes of a record's key or value: owned, static or shared.
///
/// librdkafka copies a record's bytes when it is enqueued, so a payload only
/// has to live until `send` returns. Owned bytes (`Vec<u8>`, `String`, or a
/// copy of a `&[u8]` / `&str`) cost one allocation per record. To send the
/// same bytes many times without allocating, use a static slice
/// ([`Payload::from_static`]) or a shared one (`Arc<[u8]>`, whose clone only
/// bumps a reference count).
///
/// ```
/// use std::sync::Arc;
/// use kafkit::{Payload, Record};
///
/// let owned = Record::to("t").value(format!("n={}", 1));
/// let fixed = Record::to("t").value(Payload::from_static(b"ping"));
/// let template: Arc<[u8]> = Arc::from(&b"hello"[..]);
/// let shared = Record::to("t").value(template.clone());
/// assert_eq!(owned.value_bytes(), Some(&b"n=1"[..]));
/// assert_eq!(fixed.value_bytes(), Some(&b"ping"[..]));
/// assert_eq!(shared.value_bytes(), Some(&b"hello"[..]));
/// ```
#[derive(Clone)]
pub struct Payload(Repr);

#[derive(Clone)]
enum Repr {
    Owned(Vec<u8>),
    Static(&'static [u8]),
    Shared(Arc<[u8]>),
}

impl Payload {
    /// Bytes that live for the whole program, sent without copying them
    /// into the record first.
    pub const fn from_static(bytes: &'static [u8]) -> Self {
        Payload(Repr::Static(bytes))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Owned(v) => v,
            Repr::Static(s) => s,
            Repr::Shared(a) => a,
        }
    }

    /// The bytes as a vector (copied unless they were owned).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Owned(v) => v,
            Repr::Static(s) => s.to_vec(),
            Repr::Shared(a) => a.to_vec(),
        }
    }
}

impl Deref for Payload {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Payload {}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(self) {
            Ok(s) => fmt::Debug::fmt(s, f),
            Err(_) => write!(f, "<{} bytes>", self.len()),
        }
    }
}

impl From<Payload> for Vec<u8> {
    fn from(p: Payload) -> Self {
        p.into_vec()
    }
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Self {
        Payload(Repr::Owned(v))
    }
}

impl From<String> for Payload {
    fn from(s: String) -> Self {
        Payload(Repr::Owned(s.into_bytes()))
    }
}

impl From<Box<[u8]>> for Payload {
    fn from(b: Box<[u8]>) -> Self {
        Payload(Repr::Owned(b.into_vec()))
    }
}

impl From<Arc<[u8]>> for Payload {
    fn from(a: Arc<[u8]>) -> Self {
        Payload(Repr::Shared(a))
    }
}

impl From<&Arc<[u8]>> for Payload {
    fn from(a: &Arc<[u8]>) -> Self {
        Payload(Repr::Shared(Arc::clone(a)))
    }
}

/// Copies the bytes (see [`Payload::from_static`] to avoid the copy).
impl From<&[u8]> for Payload {
    fn from(s: &[u8]) -> Self {
        Payload(Repr::Owned(s.to_vec()))
    }
}

/// Copies the bytes.
impl<const N: usize> From<&[u8; N]> for Payload {
    fn from(s: &[u8; N]) -> Self {
        Payload(Repr::Owned(s.to_vec()))
    }
}

impl<const N: usize> From<[u8; N]> for Payload {
    fn from(s: [u8; N]) -> Self {
        Payload(Repr::Owned(s.to_vec()))
    }
}

/// Copies the text.
impl From<&str> for Payload {
    fn from(s: &str) -> Self {
        Payload(Repr::Owned(s.as_bytes().to_vec()))
    }
}

/// Copies the text.
impl From<&String> for Payload {
    fn from(s: &String) -> Self {
        Payload(Repr::Owned(s.as_bytes().to_vec()))
    }
}

/// Copies the bytes.
impl From<&Vec<u8>> for Payload {
    fn from(v: &Vec<u8>) -> Self {
        Payload(Repr::Owned(v.clone()))
    }
}

impl From<Cow<'_, [u8]>> for Payload {
    fn from(c: Cow<'_, [u8]>) -> Self {
        Payload(Repr::Owned(c.into_owned()))
    }
}

impl From<Cow<'_, str>> for Payload {
    fn from(c: Cow<'_, str>) -> Self {
        Payload(Repr::Owned(c.into_owned().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_gives_the_same_bytes() {
        let shared: Arc<[u8]> = Arc::from(&b"abc"[..]);
        let forms: Vec<Payload> = vec![
            Payload::from_static(b"abc"),
            Payload::from(shared.clone()),
            Payload::from(&shared),
            Payload::from(b"abc".to_vec()),
            Payload::from(String::from("abc")),
            Payload::from("abc"),
            Payload::from(&b"abc"[..]),
            Payload::from(b"abc"),
            Payload::from(*b"abc"),
            Payload::from(Cow::Borrowed(&b"abc"[..])),
            Payload::from(Cow::Borrowed("abc")),
            Payload::from(vec![b'a', b'b', b'c'].into_boxed_slice()),
        ];
        for p in &forms {
            assert_eq!(p.as_bytes(), b"abc");
            assert_eq!(p, &forms[0]);
            assert_eq!(format!("{p:?}"), "\"abc\"");
            assert_eq!(p.clone().into_vec(), b"abc".to_vec());
        }
        // Sharing does not copy: both point at the same bytes.
        let p = Payload::from(&shared);
        assert!(std::ptr::eq(p.as_bytes().as_ptr(), shared.as_ptr()));
        assert_eq!(Arc::strong_count(&shared), 4);
        drop(p);
        drop(forms);
        assert_eq!(Arc::strong_count(&shared), 1);
        assert_eq!(
            format!("{:?}", Payload::from(vec![0xff, 0xfe])),
            "<2 bytes>"
        );
    }
}
