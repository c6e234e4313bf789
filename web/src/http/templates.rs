//! The HTML templates, embedded in the binary; HTML is escaped automatically.

use minijinja::Environment;

/// The template environment.
pub struct Templates(Environment<'static>);

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    /// Loads and compiles every template; `t("key")` in a template is the text of `key`
    /// in the page's language (the `lang` variable).
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        let catalogs = std::sync::Arc::new(
            super::i18n::Catalogs::load()
                .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e))?,
        );
        let words = std::sync::Arc::clone(&catalogs);
        env.add_function("t", move |state: &minijinja::State, key: &str| -> String {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "en".to_owned());
            catalogs.text(&lang, key).to_owned()
        });
        // `label | pseudonym`: a patient's pseudonym ("Patient 3F2A1C") in the page's
        // language; any other label as it is.
        env.add_filter(
            "pseudonym",
            move |state: &minijinja::State, label: String| -> String {
                let lang = state
                    .lookup("lang")
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "en".to_owned());
                match label.strip_prefix("Patient ") {
                    Some(code)
                        if code.len() == 6 && code.chars().all(|c| c.is_ascii_hexdigit()) =>
                    {
                        words
                            .text(&lang, "common.patient_pseudonym")
                            .replace("{code}", code)
                    }
                    _ => label,
                }
            },
        );
        macro_rules! embedded {
            ($($name:literal),* $(,)?) => {
                [$(($name, include_str!(concat!("../../templates/", $name)))),*]
            };
        }
        for (name, source) in embedded![
            "base.html",
            "home.html",
            "signin.html",
            "account.html",
            "register.html",
            "register_sent.html",
            "register_password.html",
            "register_expired.html",
            "patients.html",
            "patient_form.html",
            "patient_edit.html",
            "profile.html",
            "matrix.html",
            "contacts.html",
            "questionnaires.html",
            "questionnaire.html",
            "standing.html",
            "research.html",
            "research_query.html",
            "questions.html",
            "question_new.html",
            "question.html",
            "questions_search.html",
            "moderation.html",
            "symptoms.html",
            "phenopacket.html",
            "mme_send.html",
            "terms.html",
            "password_forgot.html",
            "password_reset.html",
            "password_expired.html",
            "account_delete.html",
            "documents.html",
            "consent_form.html",
            "similar.html",
            "validation_queue.html",
            "validation_review.html",
            "audit.html",
            "federation_status.html",
            "messages.html",
            "conversation.html",
            "message_report.html",
            "reports.html",
        ] {
            env.add_template(name, source)?;
        }
        Ok(Self(env))
    }

    /// Renders `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
        self.0.get_template(name)?.render(ctx)
    }
}

/// The templates, compiled on first use and kept (an error if they do not compile: a test
/// renders every page).
pub fn shared() -> Result<&'static Templates, &'static minijinja::Error> {
    static TEMPLATES: std::sync::OnceLock<Result<Templates, minijinja::Error>> =
        std::sync::OnceLock::new();
    TEMPLATES.get_or_init(Templates::new).as_ref()
}
