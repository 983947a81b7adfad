//! JSON merge patch (RFC 7396) members for partial edits: an absent member leaves a field as
//! it is, `null` clears it, a value sets it. Validation runs on the merged result.

use serde::{Deserialize, Deserializer};

/// One member of a merge patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// The member was absent: unchanged.
    #[default]
    Keep,
    /// The member was `null`: cleared.
    Clear,
    /// The member's new value.
    Set(T),
}

impl<T> Patch<T> {
    /// The field after the patch, given its value before.
    pub fn apply(self, old: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => old,
            Patch::Clear => None,
            Patch::Set(v) => Some(v),
        }
    }

    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
}

/// Reads `null` as [`Patch::Clear`] and a value as [`Patch::Set`]; with `#[serde(default)]` on
/// the field, an absent member is [`Patch::Keep`].
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(|v| v.map_or(Patch::Clear, Patch::Set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct P {
        #[serde(default)]
        a: Patch<String>,
    }

    #[test]
    fn absent_null_and_value() {
        let p = |j: &str| serde_json::from_str::<P>(j).map(|p| p.a).ok();
        assert_eq!(p("{}"), Some(Patch::Keep));
        assert_eq!(p(r#"{"a":null}"#), Some(Patch::Clear));
        assert_eq!(p(r#"{"a":"x"}"#), Some(Patch::Set("x".into())));
        assert_eq!(Patch::Keep.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Clear.apply(Some(1)), None);
        assert_eq!(Patch::Set(2).apply(Some(1)), Some(2));
    }
}
