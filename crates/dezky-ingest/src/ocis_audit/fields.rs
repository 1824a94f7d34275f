//! The fields of an audit line the mapping reads, borrowed from the line.
//!
//! Building a `serde_json::Value` allocates every key and string of the line; most lines in
//! real traffic are reads the filter drops, so the line is first read into this struct, which
//! keeps only these fields (borrowed, owned only when the JSON string has escapes) and skips
//! everything else without allocating. Only a line that becomes an event is parsed again in
//! full, for its metadata.
//!
//! It reads like the `Value` it replaces: a field that is not a string counts as absent, and
//! when a key repeats, the last one wins (as in `serde_json::Map`).

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct LineFields<'a> {
    pub action: Text<'a>,
    pub user: Text<'a>,
    pub message: Text<'a>,
    pub time: Text<'a>,
    pub remote_addr: Text<'a>,
    pub share_id: Text<'a>,
    pub file_id: Text<'a>,
    pub space_id: Text<'a>,
    pub group_id: Text<'a>,
    pub user_id: Text<'a>,
    pub path: Text<'a>,
    pub name: Text<'a>,
}

impl<'a> LineFields<'a> {
    /// The field holding the id of a resource kind, by its oCIS key.
    pub fn id_of(&self, key: &str) -> Option<&str> {
        match key {
            "ShareID" => self.share_id.as_deref(),
            "FileID" => self.file_id.as_deref(),
            "SpaceID" => self.space_id.as_deref(),
            "GroupID" => self.group_id.as_deref(),
            "UserID" => self.user_id.as_deref(),
            _ => None,
        }
    }
}

/// The keys this struct keeps; every other key is skipped.
enum Key {
    Action,
    User,
    Message,
    Time,
    RemoteAddr,
    ShareId,
    FileId,
    SpaceId,
    GroupId,
    UserId,
    Path,
    Name,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a key")
            }
            fn visit_str<E>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "Action" => Key::Action,
                    "User" => Key::User,
                    "Message" => Key::Message,
                    "Time" => Key::Time,
                    "RemoteAddr" => Key::RemoteAddr,
                    "ShareID" => Key::ShareId,
                    "FileID" => Key::FileId,
                    "SpaceID" => Key::SpaceId,
                    "GroupID" => Key::GroupId,
                    "UserID" => Key::UserId,
                    "Path" => Key::Path,
                    "Name" => Key::Name,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for LineFields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LineFields<'de>, D::Error> {
        struct LineVisitor;
        impl<'de> Visitor<'de> for LineVisitor {
            type Value = LineFields<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LineFields<'de>, A::Error> {
                let mut fields = LineFields::default();
                while let Some(key) = map.next_key::<Key>()? {
                    let slot = match key {
                        Key::Action => &mut fields.action,
                        Key::User => &mut fields.user,
                        Key::Message => &mut fields.message,
                        Key::Time => &mut fields.time,
                        Key::RemoteAddr => &mut fields.remote_addr,
                        Key::ShareId => &mut fields.share_id,
                        Key::FileId => &mut fields.file_id,
                        Key::SpaceId => &mut fields.space_id,
                        Key::GroupId => &mut fields.group_id,
                        Key::UserId => &mut fields.user_id,
                        Key::Path => &mut fields.path,
                        Key::Name => &mut fields.name,
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = map.next_value::<StringOrNothing<'de>>()?.0;
                }
                Ok(fields)
            }
        }
        deserializer.deserialize_map(LineVisitor)
    }
}

/// A value kept when it is a string; any other value (number, object, null, …) is read past
/// and counts as absent, as `Value::as_str` would have it.
struct StringOrNothing<'a>(Text<'a>);

impl<'de> Deserialize<'de> for StringOrNothing<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StringOrNothing<'de>, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = StringOrNothing<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(StringOrNothing(Some(Cow::Borrowed(text))))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(StringOrNothing(Some(Cow::Owned(text.to_owned()))))
            }
            fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
                Ok(StringOrNothing(Some(Cow::Owned(text))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(StringOrNothing(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(StringOrNothing(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(StringOrNothing(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(StringOrNothing(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(StringOrNothing(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(StringOrNothing(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StringOrNothing(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(StringOrNothing(None))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> LineFields<'_> {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn plain_strings_are_borrowed_and_escaped_ones_owned() {
        let fields = read(r#"{"Action":"file_create","Path":"/a \"b\" \u00e9","Other":{"x":[1,2]}}"#);
        assert!(matches!(fields.action, Some(Cow::Borrowed("file_create"))));
        assert_eq!(fields.path.as_deref(), Some("/a \"b\" é"));
        assert!(matches!(fields.path, Some(Cow::Owned(_))));
    }

    #[test]
    fn values_that_are_not_strings_are_absent_and_the_last_key_wins() {
        let fields =
            read(r#"{"User":5,"Message":null,"Time":{"a":1},"Path":[1],"Name":true,"FileID":"a","FileID":"b"}"#);
        assert_eq!(fields.user, None);
        assert_eq!(fields.message, None);
        assert_eq!(fields.time, None);
        assert_eq!(fields.path, None);
        assert_eq!(fields.name, None);
        assert_eq!(fields.id_of("FileID"), Some("b"));
        let overwritten = read(r#"{"Action":"a","Action":7}"#);
        assert_eq!(overwritten.action, None, "as in a Map, the last value counts");
    }

    #[test]
    fn only_objects_are_lines() {
        for bad in ["[1]", "\"x\"", "1", "{\"Action\":", "{\"a\":1} x", "{\"a\":\"\\q\"}"] {
            assert!(serde_json::from_str::<LineFields<'_>>(bad).is_err(), "{bad}");
        }
        assert_eq!(read("{}"), LineFields::default());
    }
}
