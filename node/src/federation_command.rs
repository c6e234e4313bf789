//! `raremesh federation …` on the command line: what to give partners (`whoami`), the
//! homeserver's registration, fresh tokens, and the running node's federation status.

use std::path::Path;

pub fn whoami(config: Option<&Path>) -> anyhow::Result<()> {
    let config = crate::load_config(config)?;
    let f = &config.federation;
    if f.server_name.trim().is_empty() {
        anyhow::bail!(
            "federation.server_name is not set: it is your homeserver's name (the part after ':' in its user ids)"
        );
    }
    let keys = raremesh::federation::Keys::open_or_create(&config.federation_path())?;
    say!(
        "# Give this to the admin of each node that should trust this one; they add it to\n# their config (and you add theirs to yours):\n[[federation.peers]]\nname = {:?}\nuser_id = {:?}\nage_key = {:?}",
        config.node.name,
        f.user_id(),
        keys.public_key()
    );
    Ok(())
}

pub fn registration(config: Option<&Path>, url: Option<&str>) -> anyhow::Result<()> {
    let config = crate::load_config(config)?;
    let f = &config.federation;
    if f.as_token.expose().len() < 16 || f.hs_token.expose().len() < 16 {
        anyhow::bail!(
            "set federation.as_token and federation.hs_token first (`raremesh federation tokens` makes two)"
        );
    }
    if f.server_name.trim().is_empty() {
        anyhow::bail!("federation.server_name is not set");
    }
    let url = url.unwrap_or(&config.server.public_url);
    let yaml = raremesh_bridge::registration::registration_yaml(
        &raremesh_bridge::registration::RegistrationSpec {
            url,
            as_token: f.as_token.expose(),
            hs_token: f.hs_token.expose(),
            sender_localpart: &f.sender_localpart,
            server_name: f.server_name.trim(),
        },
    )?;
    say!(
        "# raremesh application service registration. Add this file's path to\n# app_service_config_files in the homeserver's configuration (homeserver.yaml), then\n# restart the homeserver. The file holds both tokens: keep it readable by the homeserver only.\n{yaml}"
    );
    Ok(())
}

pub fn status(config: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let config = crate::load_config(config)?;
    if !config.federation.enabled {
        anyhow::bail!(
            "federation is not enabled in this configuration ([federation] enabled = false)"
        );
    }
    let path = config.federation_path().join("status.json");
    let status = raremesh::federation::status::Status::read(&path).map_err(|e| {
        anyhow::anyhow!("{e}\nthe running node writes this file every 5 s: is the node running with this configuration?")
    })?;
    let age = raremesh::clock::now().saturating_sub(status.at);
    if json {
        say!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        say_on!("{}", status.to_text());
        say!("(written by the node {age} s ago)");
    }
    if age > 30 {
        anyhow::bail!(
            "the status is {age} s old: the node is not running, or its federation task is stuck"
        );
    }
    if !status.healthy() {
        std::process::exit(1);
    }
    Ok(())
}

pub fn tokens() -> anyhow::Result<()> {
    let token = || raremesh::ids::random_token().map_err(anyhow::Error::msg);
    say!(
        "[federation]\nas_token = {:?}\nhs_token = {:?}",
        token()?,
        token()?
    );
    Ok(())
}
