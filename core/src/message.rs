//! Messages for members, kept as a catalogue key and its values so that each page shows
//! them in the member's language (`core/i18n/*.toml`); the JSON API and
//! logs use English.

/// A message for a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    key: &'static str,
    args: Vec<(&'static str, String)>,
}

impl Message {
    /// The message of catalogue key `key`.
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }

    /// With `{name}` replaced by `value`.
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// The catalogue key.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The text in `lang` (English when the key is missing there).
    pub fn render(&self, lang: &str) -> String {
        let mut s = crate::i18n::shared().text(lang, self.key).to_owned();
        for (name, value) in &self.args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render("en"))
    }
}
