//! Closed sets of names that files spell as strings (`"message.received"`, `"queue-one"`), and
//! "did you mean" suggestions for names and keys that are almost right.

/// A closed set of names: each variant has exactly one spelling in the files.
pub(crate) trait Named: Copy + Ord + 'static {
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
    /// What one of these is called in messages, e.g. "event" or "message type".
    const WHAT: &'static str;
    fn name(self) -> &'static str;
}

/// Defines an enum whose variants are spelled as fixed strings in the files.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $enum:ident as $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $enum {
            $( $(#[$vmeta])* $variant, )+
        }

        #[allow(dead_code, reason = "generated for every named enum; not all use every item")]
        impl $enum {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The spelling used in manifests and config files.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            /// The variant spelled `name`, if any.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }

        impl std::fmt::Display for $enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::named::Named for $enum {
            const ALL: &'static [Self] = $enum::ALL;
            const WHAT: &'static str = $what;
            fn name(self) -> &'static str {
                self.as_str()
            }
        }
    };
}
pub(crate) use named_enum;

/// Looks `input` up among `T`'s names; the error says what was expected.
pub(crate) fn parse_named<T: Named>(input: &str) -> Result<T, String> {
    if let Some(found) = T::ALL.iter().copied().find(|v| v.name() == input) {
        return Ok(found);
    }
    let names = T::ALL.iter().map(|v| v.name());
    Err(match did_you_mean(input, names.clone()) {
        Some(near) => format!("unknown {} `{input}`; did you mean `{near}`?", T::WHAT),
        None => format!("unknown {} `{input}`; use {}", T::WHAT, one_of(names)),
    })
}

/// The candidate closest to `input`, when it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input = input.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            (
                strsim::jaro_winkler(&input, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
pub(crate) fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    match names.as_slice() {
        [] => "nothing".to_owned(),
        [one] => one.clone(),
        [first, second] => format!("{first} or {second}"),
        many => format!("one of {}", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    named_enum! {
        /// A test set.
        pub enum Colour as "colour" {
            Red = "red",
            LightBlue = "light-blue",
        }
    }

    fn check(input: &str, expected: Result<Colour, &str>) {
        assert_eq!(
            parse_named::<Colour>(input),
            expected.map_err(str::to_owned)
        );
    }

    #[test]
    fn names_parse_or_suggest() {
        check("red", Ok(Colour::Red));
        check("light-blue", Ok(Colour::LightBlue));
        check(
            "lightblue",
            Err("unknown colour `lightblue`; did you mean `light-blue`?"),
        );
        check("RED", Err("unknown colour `RED`; did you mean `red`?"));
        check(
            "green",
            Err("unknown colour `green`; use `red` or `light-blue`"),
        );
    }

    #[test]
    fn suggestions_need_a_close_match() {
        let keys = ["capabilities", "config", "limits", "timeout_ms"];
        assert_eq!(did_you_mean("capabilites", keys), Some("capabilities"));
        assert_eq!(did_you_mean("timout_ms", keys), Some("timeout_ms"));
        assert_eq!(did_you_mean("xyz", keys), None);
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(one_of(["a"]), "`a`");
        assert_eq!(one_of(["a", "b", "c"]), "one of `a`, `b`, `c`");
        assert_eq!(Colour::from_name("red"), Some(Colour::Red));
        assert_eq!(Colour::LightBlue.to_string(), "light-blue");
    }
}
