//! The [`Codec`] trait and the codecs kafkit ships: JSON, UTF-8 strings,
//! Kafka's big-endian numbers, raw bytes and "no key".

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Turns a key or value into the bytes of a record, and the bytes of a
/// message back into it.
///
/// `None` bytes are an absent key or a tombstone value. A codec is shared by
/// every record of its [`TypedTopic`](super::TypedTopic) (so `Send + Sync`);
/// its errors are plain reasons, which the typed topic turns into an
/// [`Error::Codec`](crate::Error::Codec) naming the topic, partition, offset
/// and what failed.
///
/// ```
/// use kafkit::{Codec, CodecError};
///
/// /// Upper-case ASCII text.
/// struct Shout;
///
/// impl Codec for Shout {
///     type Item = String;
///     fn encode(&self, item: &String) -> Result<Option<Vec<u8>>, CodecError> {
///         Ok(Some(item.to_ascii_uppercase().into_bytes()))
///     }
///     fn decode(&self, bytes: Option<&[u8]>) -> Result<String, CodecError> {
///         let bytes = bytes.ok_or_else(|| CodecError::new("no bytes"))?;
///         String::from_utf8(bytes.to_vec()).map_err(CodecError::new)
///     }
/// }
///
/// assert_eq!(Shout.encode(&"hi".into())?, Some(b"HI".to_vec()));
/// # Ok::<(), CodecError>(())
/// ```
pub trait Codec: Send + Sync + 'static {
    /// The Rust type this codec encodes and decodes.
    type Item;

    /// The bytes for `item` (`None`: no key, or a tombstone value).
    fn encode(&self, item: &Self::Item) -> Result<Option<Vec<u8>>, CodecError>;

    /// The item for a message's bytes (`None`: the message has no key, or
    /// its value is a tombstone).
    fn decode(&self, bytes: Option<&[u8]>) -> Result<Self::Item, CodecError>;
}

/// Why a codec could not encode or decode: a reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError(String);

impl CodecError {
    /// An error with this reason.
    pub fn new(reason: impl fmt::Display) -> Self {
        CodecError(reason.to_string())
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_reason(self) -> String {
        self.0
    }

    fn tombstone() -> Self {
        CodecError::new("there are no bytes (an absent key or a tombstone value)")
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

/// JSON through serde: any `T: Serialize + DeserializeOwned`.
///
/// A tombstone decodes as JSON `null`, so `JsonCodec<Option<T>>` reads
/// tombstones as `None` (but writes `None` as the bytes `null`; to write
/// tombstones, use `Nullable(JsonCodec::<T>::new())`).
///
/// ```
/// use kafkit::{Codec, JsonCodec};
///
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct User { name: String }
///
/// let codec = JsonCodec::<User>::new();
/// let bytes = codec.encode(&User { name: "bo".into() })?;
/// assert_eq!(bytes.as_deref(), Some(&br#"{"name":"bo"}"#[..]));
/// assert_eq!(codec.decode(bytes.as_deref())?, User { name: "bo".into() });
/// # Ok::<(), kafkit::CodecError>(())
/// ```
pub struct JsonCodec<T>(PhantomData<fn() -> T>);

impl<T> JsonCodec<T> {
    /// The JSON codec for `T`.
    pub const fn new() -> Self {
        JsonCodec(PhantomData)
    }
}

impl<T> Default for JsonCodec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for JsonCodec<T> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for JsonCodec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonCodec<{}>", std::any::type_name::<T>())
    }
}

impl<T: Serialize + DeserializeOwned + 'static> Codec for JsonCodec<T> {
    type Item = T;

    fn encode(&self, item: &T) -> Result<Option<Vec<u8>>, CodecError> {
        serde_json::to_vec(item)
            .map(Some)
            .map_err(|e| CodecError::new(format_args!("JSON: {e}")))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<T, CodecError> {
        serde_json::from_slice(bytes.unwrap_or(b"null"))
            .map_err(|e| CodecError::new(format_args!("JSON: {e}")))
    }
}

/// UTF-8 text, the bytes of Kafka's Java `StringSerializer` (with its
/// default encoding). Bytes that are not UTF-8 are an error, not replaced.
#[derive(Debug, Clone, Copy, Default)]
pub struct StringCodec;

impl Codec for StringCodec {
    type Item = String;

    fn encode(&self, item: &String) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(Some(item.as_bytes().to_vec()))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<String, CodecError> {
        let bytes = bytes.ok_or_else(CodecError::tombstone)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => Err(CodecError::new(format_args!("not UTF-8: {e}"))),
        }
    }
}

/// The bytes as they are (`Vec<u8>`), like Java's `ByteArraySerializer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCodec;

impl Codec for BytesCodec {
    type Item = Vec<u8>;

    fn encode(&self, item: &Vec<u8>) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(Some(item.clone()))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<Vec<u8>, CodecError> {
        bytes.map(<[u8]>::to_vec).ok_or_else(CodecError::tombstone)
    }
}

/// No key: records are sent without one, and a message's key is ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKey;

impl Codec for NoKey {
    type Item = ();

    fn encode(&self, _: &()) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(None)
    }

    fn decode(&self, _: Option<&[u8]>) -> Result<(), CodecError> {
        Ok(())
    }
}

/// Absent bytes as `None` around another codec: keys that may be missing,
/// values that may be tombstones.
///
/// ```
/// use kafkit::{Codec, Nullable, StringCodec};
///
/// let codec = Nullable(StringCodec);
/// assert_eq!(codec.decode(None)?, None);
/// assert_eq!(codec.encode(&None)?, None);
/// assert_eq!(codec.decode(Some(b"x"))?, Some("x".to_string()));
/// # Ok::<(), kafkit::CodecError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Nullable<C>(pub C);

impl<C: Codec> Codec for Nullable<C> {
    type Item = Option<C::Item>;

    fn encode(&self, item: &Option<C::Item>) -> Result<Option<Vec<u8>>, CodecError> {
        match item {
            Some(item) => self.0.encode(item),
            None => Ok(None),
        }
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<Option<C::Item>, CodecError> {
        match bytes {
            Some(bytes) => self.0.decode(Some(bytes)).map(Some),
            None => Ok(None),
        }
    }
}

/// The bytes of a fixed-width number, or why there are none.
fn fixed<const N: usize>(bytes: Option<&[u8]>, java: &str) -> Result<[u8; N], CodecError> {
    let bytes = bytes.ok_or_else(CodecError::tombstone)?;
    bytes.try_into().map_err(|_| {
        CodecError::new(format_args!(
            "{} bytes where {java} (Java's {java}Deserializer) takes exactly {N}",
            bytes.len()
        ))
    })
}

/// A 32-bit integer as 4 big-endian bytes: Kafka's Java
/// `IntegerSerializer` / `IntegerDeserializer`. Any other length is an
/// error, as in Java.
///
/// ```
/// use kafkit::{Codec, I32Codec};
/// assert_eq!(I32Codec.encode(&258)?, Some(vec![0, 0, 1, 2]));
/// assert!(I32Codec.decode(Some(&[1, 2])).is_err());
/// # Ok::<(), kafkit::CodecError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct I32Codec;

impl Codec for I32Codec {
    type Item = i32;

    fn encode(&self, item: &i32) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(Some(item.to_be_bytes().to_vec()))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<i32, CodecError> {
        fixed(bytes, "Integer").map(i32::from_be_bytes)
    }
}

/// A 64-bit integer as 8 big-endian bytes: Kafka's Java `LongSerializer` /
/// `LongDeserializer`. Any other length is an error, as in Java.
#[derive(Debug, Clone, Copy, Default)]
pub struct I64Codec;

impl Codec for I64Codec {
    type Item = i64;

    fn encode(&self, item: &i64) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(Some(item.to_be_bytes().to_vec()))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<i64, CodecError> {
        fixed(bytes, "Long").map(i64::from_be_bytes)
    }
}

/// A 64-bit float as the 8 big-endian bytes of its IEEE 754 bits: Kafka's
/// Java `DoubleSerializer` / `DoubleDeserializer`. Every NaN is written as
/// Java's `doubleToLongBits` writes it (`0x7ff8000000000000`). Any other
/// length is an error, as in Java.
#[derive(Debug, Clone, Copy, Default)]
pub struct F64Codec;

/// Java's canonical NaN (`Double.doubleToLongBits(Double.NaN)`).
const JAVA_NAN: u64 = 0x7ff8_0000_0000_0000;

impl Codec for F64Codec {
    type Item = f64;

    fn encode(&self, item: &f64) -> Result<Option<Vec<u8>>, CodecError> {
        let bits = if item.is_nan() {
            JAVA_NAN
        } else {
            item.to_bits()
        };
        Ok(Some(bits.to_be_bytes().to_vec()))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<f64, CodecError> {
        fixed(bytes, "Double").map(f64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<C: Codec>(codec: &C, item: &C::Item) -> Vec<u8> {
        codec.encode(item).unwrap().unwrap()
    }

    #[test]
    fn numbers_have_javas_byte_layout() {
        // The bytes Java's serializers write for the same values.
        assert_eq!(bytes(&I32Codec, &1), [0, 0, 0, 1]);
        assert_eq!(bytes(&I32Codec, &-1), [0xff; 4]);
        assert_eq!(bytes(&I32Codec, &0x0102_0304), [1, 2, 3, 4]);
        assert_eq!(bytes(&I32Codec, &i32::MIN), [0x80, 0, 0, 0]);
        assert_eq!(bytes(&I64Codec, &1), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            bytes(&I64Codec, &0x0102_0304_0506_0708),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(
            bytes(&I64Codec, &-2),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]
        );
        // Double.doubleToLongBits(1.0) = 0x3ff0000000000000.
        assert_eq!(bytes(&F64Codec, &1.0), [0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
        // -2.5 = 0xc004000000000000.
        assert_eq!(bytes(&F64Codec, &-2.5), [0xc0, 0x04, 0, 0, 0, 0, 0, 0]);
        // Every NaN as Java's canonical NaN.
        let other_nan = f64::from_bits(0x7ff0_0000_0000_0001);
        assert!(other_nan.is_nan());
        assert_eq!(bytes(&F64Codec, &other_nan), [0x7f, 0xf8, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes(&F64Codec, &f64::NAN), [0x7f, 0xf8, 0, 0, 0, 0, 0, 0]);

        assert_eq!(I32Codec.decode(Some(&[0xff, 0xff, 0xff, 0xfe])), Ok(-2));
        assert_eq!(I64Codec.decode(Some(&[0, 0, 0, 0, 0, 0, 1, 0])), Ok(256));
        assert_eq!(
            F64Codec.decode(Some(&[0x3f, 0xf0, 0, 0, 0, 0, 0, 0])),
            Ok(1.0)
        );
    }

    #[test]
    fn numbers_of_the_wrong_length_are_refused_like_java_does() {
        let e = I32Codec.decode(Some(&[0, 0, 0, 0, 1])).unwrap_err();
        assert_eq!(
            e.reason(),
            "5 bytes where Integer (Java's IntegerDeserializer) takes exactly 4"
        );
        assert!(I32Codec.decode(Some(&[])).is_err());
        let e = I64Codec.decode(Some(&[0; 4])).unwrap_err();
        assert!(
            e.reason().contains("LongDeserializer) takes exactly 8"),
            "{e}"
        );
        let e = F64Codec.decode(Some(&[0; 9])).unwrap_err();
        assert!(
            e.reason().contains("DoubleDeserializer) takes exactly 8"),
            "{e}"
        );
        let e = I64Codec.decode(None).unwrap_err();
        assert!(e.reason().contains("tombstone"), "{e}");
    }

    #[test]
    fn strings_bytes_and_no_key() {
        assert_eq!(bytes(&StringCodec, &"héllo".into()), "héllo".as_bytes());
        assert_eq!(
            StringCodec.decode(Some("é".as_bytes())),
            Ok("é".to_string())
        );
        let e = StringCodec.decode(Some(&[0xff, 0xfe])).unwrap_err();
        assert!(e.reason().starts_with("not UTF-8"), "{e}");
        assert!(StringCodec.decode(None).is_err());
        assert_eq!(bytes(&BytesCodec, &vec![0, 1, 0xff]), [0, 1, 0xff]);
        assert_eq!(BytesCodec.decode(Some(&[7])), Ok(vec![7]));
        assert_eq!(NoKey.encode(&()), Ok(None));
        assert_eq!(NoKey.decode(Some(b"ignored")), Ok(()));
    }

    #[test]
    fn json_tombstones_are_null() {
        let codec = JsonCodec::<Option<u32>>::new();
        assert_eq!(codec.decode(None), Ok(None));
        assert_eq!(codec.decode(Some(b"7")), Ok(Some(7)));
        let e = JsonCodec::<u32>::new().decode(Some(b"\"x\"")).unwrap_err();
        assert!(e.reason().starts_with("JSON: invalid type"), "{e}");
        // A map with non-string keys has no JSON form.
        let map: std::collections::HashMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        let e = JsonCodec::new().encode(&map).unwrap_err();
        assert!(e.reason().contains("key must be a string"), "{e}");
    }
}
