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
        env.add_function("t", move |state: &minijinja::State, key: &str| -> String {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "en".to_owned());
            catalogs.text(&lang, key).to_owned()
        });
        env.add_template("base.html", include_str!("../../templates/base.html"))?;
        env.add_template("home.html", include_str!("../../templates/home.html"))?;
        env.add_template("signin.html", include_str!("../../templates/signin.html"))?;
        env.add_template("account.html", include_str!("../../templates/account.html"))?;
        env.add_template(
            "register.html",
            include_str!("../../templates/register.html"),
        )?;
        env.add_template(
            "register_sent.html",
            include_str!("../../templates/register_sent.html"),
        )?;
        env.add_template(
            "register_password.html",
            include_str!("../../templates/register_password.html"),
        )?;
        env.add_template(
            "register_expired.html",
            include_str!("../../templates/register_expired.html"),
        )?;
        env.add_template(
            "patients.html",
            include_str!("../../templates/patients.html"),
        )?;
        env.add_template(
            "symptoms.html",
            include_str!("../../templates/symptoms.html"),
        )?;
        env.add_template("terms.html", include_str!("../../templates/terms.html"))?;
        env.add_template(
            "password_forgot.html",
            include_str!("../../templates/password_forgot.html"),
        )?;
        env.add_template(
            "password_reset.html",
            include_str!("../../templates/password_reset.html"),
        )?;
        env.add_template(
            "password_expired.html",
            include_str!("../../templates/password_expired.html"),
        )?;
        env.add_template(
            "account_delete.html",
            include_str!("../../templates/account_delete.html"),
        )?;
        Ok(Self(env))
    }

    /// Renders `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
        self.0.get_template(name)?.render(ctx)
    }
}
