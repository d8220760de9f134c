//! Commands that manage a tenant over the HTTP API with its admin key (`--url`,
//! `TROLLEY_ADMIN_KEY`), so they work against any node without database access:
//! `trolley api-key list|create|revoke`.
//!
//! Results go to stdout (text by default, the API's JSON with `--json`); a refusal goes to
//! stderr as `<status> <code>: <detail>` and the process exits non-zero.

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

use crate::cli::{ApiKeyCommand, Remote};

/// A tenant admin's view of one Trolley server.
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    admin_key: String,
}

impl AdminClient {
    pub fn new(remote: &Remote) -> anyhow::Result<Self> {
        let admin_key = remote
            .admin_key
            .clone()
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| {
                anyhow!("an admin key is required: set TROLLEY_ADMIN_KEY (or pass --admin-key)")
            })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("trolley-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: remote.url.trim_end_matches('/').to_owned(),
            admin_key,
        })
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin_key)
    }

    /// Sends, and answers the body (`Null` for 204) or the server's problem as an error.
    pub(crate) async fn send(&self, rb: RequestBuilder) -> anyhow::Result<Value> {
        let res = rb
            .send()
            .await
            .with_context(|| format!("cannot reach the Trolley server at {}", self.base))?;
        let status = res.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        match (body["code"].as_str(), body["detail"].as_str()) {
            (Some(code), Some(detail)) => {
                let mut message = format!("{} {code}: {detail}", status.as_u16());
                // What the problem lists: each bad config field, each cart a version fails on.
                for error in body["errors"].as_array().into_iter().flatten() {
                    message.push_str(&format!("\n  - {}", text(error)));
                }
                for f in body["failures"].as_array().into_iter().flatten() {
                    message.push_str(&format!(
                        "\n  - cart {}: {}: {} (run {})",
                        text(&f["cart_id"]),
                        text(&f["kind"]),
                        text(&f["message"]),
                        text(&f["run_id"]),
                    ));
                }
                bail!("{message}")
            }
            _ => bail!("the server answered {status}"),
        }
    }

    pub async fn list_api_keys(&self) -> anyhow::Result<Value> {
        self.send(self.request(Method::GET, "/v1/admin/api-keys"))
            .await
    }

    pub async fn create_api_key(&self, kind: &str, name: &str) -> anyhow::Result<Value> {
        self.send(
            self.request(Method::POST, "/v1/admin/api-keys")
                .json(&json!({"kind": kind, "name": name})),
        )
        .await
    }

    pub async fn revoke_api_key(&self, key_id: uuid::Uuid) -> anyhow::Result<()> {
        self.send(self.request(Method::DELETE, &format!("/v1/admin/api-keys/{key_id}")))
            .await
            .map(|_| ())
    }
}

pub(crate) fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

/// Runs `trolley api-key …`.
pub async fn api_key(command: ApiKeyCommand, remote: Remote) -> anyhow::Result<()> {
    let client = AdminClient::new(&remote)?;
    match command {
        ApiKeyCommand::List => {
            let keys = client.list_api_keys().await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
                return Ok(());
            }
            println!(
                "{:<36}  {:<10}  {:<25}  {:<25}  {:<25}  NAME",
                "KEY_ID", "KIND", "CREATED", "LAST USED", "REVOKED"
            );
            for k in keys.as_array().into_iter().flatten() {
                println!(
                    "{:<36}  {:<10}  {:<25}  {:<25}  {:<25}  {}",
                    text(&k["key_id"]),
                    text(&k["kind"]),
                    text(&k["created_at"]),
                    text(&k["last_used_at"]),
                    text(&k["revoked_at"]),
                    text(&k["name"]),
                );
            }
        }
        ApiKeyCommand::Create { kind, name } => {
            let key = client.create_api_key(kind.as_str(), &name).await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&key)?);
                return Ok(());
            }
            println!("key_id:  {}", text(&key["key_id"]));
            println!("kind:    {}", text(&key["kind"]));
            println!("name:    {}", text(&key["name"]));
            println!("key:     {}", text(&key["key"]));
            eprintln!("The key is shown this once; Trolley keeps only its hash.");
        }
        ApiKeyCommand::Revoke { key_id } => {
            client.revoke_api_key(key_id).await?;
            if remote.json {
                println!("{}", json!({"key_id": key_id, "revoked": true}));
            } else {
                println!("revoked {key_id}");
            }
        }
    }
    Ok(())
}
