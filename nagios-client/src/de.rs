//! Decoders for nagios-api's stringly values (`"0"`, `"1795611171"`,
//! `"5.000000"`). Each accepts the string form and, for robustness against
//! other versions, the matching JSON type; anything else is an error that
//! names the value (the field path is added by `serde_path_to_error`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

use crate::model::Timestamp;

/// A JSON scalar as nagios-api may send it.
pub(crate) enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => write!(f, "{s:?}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Null => f.write_str("null"),
        }
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        i64::try_from(v)
            .map(Scalar::Int)
            .map_err(|_| E::custom(format!("integer {v} out of range")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

pub(crate) fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

fn invalid<E: de::Error>(v: &Scalar, expected: &str) -> E {
    E::custom(format_args!("invalid value {v}, expected {expected}"))
}

/// An integer code: `"2"` or `2`.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D, expected: &str) -> Result<i64, D::Error> {
    let v = scalar(d)?;
    match &v {
        Scalar::Int(i) => Ok(*i),
        Scalar::Str(s) => s.trim().parse().map_err(|_| invalid(&v, expected)),
        _ => Err(invalid(&v, expected)),
    }
}

pub(crate) fn u32_<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = int(d, "a non-negative integer")?;
    u32::try_from(v)
        .map_err(|_| de::Error::custom(format_args!("invalid value {v}, expected a u32")))
}

pub(crate) fn u64_<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = int(d, "a non-negative integer")?;
    u64::try_from(v)
        .map_err(|_| de::Error::custom(format_args!("invalid value {v}, expected a u64")))
}

pub(crate) fn f64_<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = scalar(d)?;
    match &v {
        Scalar::Int(i) => Ok(*i as f64),
        Scalar::Float(x) => Ok(*x),
        Scalar::Str(s) => s.trim().parse().map_err(|_| invalid(&v, "a number")),
        _ => Err(invalid(&v, "a number")),
    }
}

/// `"0"`/`"1"` (or `0`/`1`, `false`/`true`).
pub(crate) fn bool_<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = scalar(d)?;
    match &v {
        Scalar::Bool(b) => Ok(*b),
        Scalar::Int(0) => Ok(false),
        Scalar::Int(1) => Ok(true),
        Scalar::Str(s) if s == "0" => Ok(false),
        Scalar::Str(s) if s == "1" => Ok(true),
        _ => Err(invalid(&v, "\"0\" or \"1\"")),
    }
}

/// A required Unix timestamp.
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    int(d, "a Unix timestamp").map(Timestamp)
}

/// A Unix timestamp where Nagios writes `0` for "never"; `null` is also
/// `None`.
pub(crate) fn opt_timestamp<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Timestamp>, D::Error> {
    let v = scalar(d)?;
    let n = match &v {
        Scalar::Null => return Ok(None),
        Scalar::Int(i) => *i,
        Scalar::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| invalid(&v, "a Unix timestamp"))?,
        _ => return Err(invalid(&v, "a Unix timestamp")),
    };
    Ok((n != 0).then_some(Timestamp(n)))
}

/// An id where `0` means "none" (`triggered_by`); `null` is also `None`.
pub(crate) fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = scalar(d)?;
    let n = match &v {
        Scalar::Null => return Ok(None),
        Scalar::Int(i) => u64::try_from(*i).map_err(|_| invalid(&v, "an id"))?,
        Scalar::Str(s) => s.trim().parse().map_err(|_| invalid(&v, "an id"))?,
        _ => return Err(invalid(&v, "an id")),
    };
    Ok((n != 0).then_some(n))
}

/// A list or map that may be `null`: read as empty (nagios-api writes `null` where
/// status.dat had nothing of the kind).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    Ok(<Option<T> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}

/// A string that may be `null` (key missing in status.dat).
pub(crate) fn string_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = scalar(d)?;
    match v {
        Scalar::Str(s) => Ok(s),
        Scalar::Null => Ok(String::new()),
        other => Err(invalid(&other, "a string")),
    }
}

/// Implements `Deserialize` for a fieldless enum from its Nagios code.
macro_rules! code_enum {
    ($ty:ident, $expected:literal, { $($code:literal => $variant:ident),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match $crate::de::int(d, $expected)? {
                    $($code => Ok($ty::$variant),)+
                    other => Err(serde::de::Error::custom(format_args!(
                        "invalid value {other}, expected {}", $expected
                    ))),
                }
            }
        }
        impl $ty {
            /// The numeric code Nagios uses for this value.
            pub fn code(self) -> u8 {
                match self { $($ty::$variant => $code,)+ }
            }
        }
    };
}
pub(crate) use code_enum;
