//! The application service registration file an admin gives the homeserver, built from
//! ruma's `Registration` type and written by a YAML serializer (so every server name, with
//! dots, ports or brackets, comes out as valid YAML the homeserver parses).

use ruma::api::appservice::{Namespace, Namespaces, Registration, RegistrationInit};

use crate::{Error, Result};

/// What the registration says.
#[derive(Debug, Clone)]
pub struct RegistrationSpec<'a> {
    /// Where the homeserver reaches the node.
    pub url: &'a str,
    /// The token the node sends with.
    pub as_token: &'a str,
    /// The token the homeserver sends with.
    pub hs_token: &'a str,
    /// The node's own user (`@<localpart>:<server_name>`).
    pub sender_localpart: &'a str,
    /// The homeserver's name.
    pub server_name: &'a str,
}

/// Escapes a string for a regular expression (the server name's dots, a port's colon are
/// literal).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The registration: the node's namespace is its own user and the users it manages
/// (`@<localpart>-…`), exclusively; no rate limits.
pub fn registration(spec: &RegistrationSpec<'_>) -> Registration {
    let users = vec![Namespace::new(
        true,
        format!(
            "^@{}(-.*)?:{}$",
            regex_escape(spec.sender_localpart),
            regex_escape(spec.server_name)
        ),
    )];
    let mut namespaces = Namespaces::new();
    namespaces.users = users;
    let mut r: Registration = RegistrationInit {
        id: "raremesh".to_owned(),
        url: Some(spec.url.to_owned()),
        as_token: spec.as_token.to_owned(),
        hs_token: spec.hs_token.to_owned(),
        sender_localpart: spec.sender_localpart.to_owned(),
        namespaces,
        rate_limited: Some(false),
        protocols: None,
    }
    .into();
    r.receive_ephemeral = false;
    r
}

/// The registration as the YAML file the homeserver reads.
pub fn registration_yaml(spec: &RegistrationSpec<'_>) -> Result<String> {
    serde_yaml::to_string(&registration(spec)).map_err(|e| Error::Serialize(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(server_name: &str) -> RegistrationSpec<'_> {
        RegistrationSpec {
            url: "http://127.0.0.1:8080",
            as_token: "as-token-0123456789",
            hs_token: "hs-token-0123456789",
            sender_localpart: "raremesh",
            server_name,
        }
    }

    #[test]
    fn yaml_parses_back_with_the_same_values_for_names_with_dots_and_ports() {
        for name in ["127.0.0.1:28448", "rare-a.example.org", "[::1]:8448"] {
            let yaml = registration_yaml(&spec(name)).expect("yaml");
            let back: Registration = serde_yaml::from_str(&yaml).expect("parses");
            assert_eq!(back.as_token, "as-token-0123456789");
            assert_eq!(back.url.as_deref(), Some("http://127.0.0.1:8080"));
            assert_eq!(back.rate_limited, Some(false));
            let regex = &back.namespaces.users[0].regex;
            assert!(back.namespaces.users[0].exclusive);
            assert!(
                regex.ends_with(&format!("{}$", regex_escape(name))),
                "{regex}"
            );
        }
    }

    #[test]
    fn the_namespace_is_anchored_and_literal() {
        let r = registration(&spec("rare-a.example.org"));
        assert_eq!(
            r.namespaces.users[0].regex,
            r"^@raremesh(-.*)?:rare-a\.example\.org$"
        );
    }
}
