//! Tenant admins manage their webhook endpoints: create (the secret shown once), list,
//! change, disable, delete, rotate the secret, read the delivery log, redeliver one
//! delivery and replay everything since a time.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::webhook::{
    MAX_DESCRIPTION_LEN, MAX_ENDPOINTS_PER_TENANT, ROTATION_OVERLAP, check_url,
};
use crate::domain::{
    Delivery, DeliveryId, EventType, TenantId, WebhookEndpoint, WebhookId, WebhookSecret,
};
use crate::error::CoreError;
use crate::ports::{Clock, WebhookRepository, WebhookSender};

/// Deliveries one page of the log shows at most, and by default.
pub const MAX_DELIVERY_PAGE: u64 = 100;
pub const DEFAULT_DELIVERY_PAGE: u64 = 20;

/// A new endpoint, as asked.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub url: String,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
}

/// A change to an endpoint; `None` keeps a field. `event_types: Some(None)` delivers every
/// type again.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Option<Vec<String>>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

#[derive(Clone)]
pub struct WebhookService {
    repo: Arc<dyn WebhookRepository>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    allow_private: bool,
}

impl WebhookService {
    pub fn new(
        repo: Arc<dyn WebhookRepository>,
        sender: Arc<dyn WebhookSender>,
        clock: Arc<dyn Clock>,
        allow_private: bool,
    ) -> Self {
        Self {
            repo,
            sender,
            clock,
            allow_private,
        }
    }

    pub async fn create(
        &self,
        tenant: TenantId,
        new: NewWebhook,
    ) -> Result<WebhookEndpoint, CoreError> {
        self.check_url(&new.url).await?;
        let event_types = parse_types(new.event_types)?;
        let description = check_description(new.description)?;
        if self.repo.list(tenant).await?.len() >= MAX_ENDPOINTS_PER_TENANT {
            return Err(CoreError::InvalidInput(format!(
                "a tenant has at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints; delete one first"
            )));
        }
        let now = self.clock.now_millis();
        let endpoint = WebhookEndpoint {
            id: WebhookId::new(),
            tenant_id: tenant,
            url: new.url,
            event_types,
            description,
            enabled: true,
            paused_reason: None,
            secret: WebhookSecret::generate(),
            previous_secret: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        self.repo.create(&endpoint).await?;
        tracing::info!(tenant_id = %tenant, webhook_id = %endpoint.id, "webhook endpoint created");
        Ok(endpoint)
    }

    pub async fn list(&self, tenant: TenantId) -> Result<Vec<WebhookEndpoint>, CoreError> {
        Ok(self.repo.list(tenant).await?)
    }

    pub async fn get(&self, tenant: TenantId, id: WebhookId) -> Result<WebhookEndpoint, CoreError> {
        self.repo
            .get(tenant, id)
            .await?
            .ok_or(CoreError::WebhookNotFound)
    }

    pub async fn update(
        &self,
        tenant: TenantId,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<WebhookEndpoint, CoreError> {
        let mut endpoint = self.get(tenant, id).await?;
        if let Some(url) = patch.url {
            self.check_url(&url).await?;
            endpoint.url = url;
        }
        if let Some(types) = patch.event_types {
            endpoint.event_types = parse_types(types)?;
        }
        if let Some(description) = patch.description {
            endpoint.description = check_description(description)?;
        }
        if let Some(enabled) = patch.enabled {
            endpoint.enabled = enabled;
            if enabled {
                // Enabling is the tenant saying the receiver is fixed: it starts afresh.
                endpoint.paused_reason = None;
                endpoint.failing_since = None;
            }
        }
        endpoint.updated_at = self.clock.now_millis();
        self.repo.update(&endpoint).await?;
        Ok(endpoint)
    }

    pub async fn delete(&self, tenant: TenantId, id: WebhookId) -> Result<(), CoreError> {
        if self.repo.delete(tenant, id).await? {
            Ok(())
        } else {
            Err(CoreError::WebhookNotFound)
        }
    }

    /// A new secret; the old one keeps signing beside it for [`ROTATION_OVERLAP`].
    pub async fn rotate_secret(
        &self,
        tenant: TenantId,
        id: WebhookId,
    ) -> Result<WebhookEndpoint, CoreError> {
        let mut endpoint = self.get(tenant, id).await?;
        let now = self.clock.now_millis();
        let old = std::mem::replace(&mut endpoint.secret, WebhookSecret::generate());
        endpoint.previous_secret = Some((old, now + ROTATION_OVERLAP));
        endpoint.updated_at = now;
        self.repo.update(&endpoint).await?;
        Ok(endpoint)
    }

    pub async fn deliveries(
        &self,
        tenant: TenantId,
        id: WebhookId,
        before: Option<DeliveryId>,
        limit: Option<u64>,
    ) -> Result<Vec<Delivery>, CoreError> {
        let limit = limit.unwrap_or(DEFAULT_DELIVERY_PAGE);
        if !(1..=MAX_DELIVERY_PAGE).contains(&limit) {
            return Err(CoreError::InvalidInput(format!(
                "limit must be between 1 and {MAX_DELIVERY_PAGE}"
            )));
        }
        self.get(tenant, id).await?;
        Ok(self.repo.deliveries(tenant, id, before, limit).await?)
    }

    pub async fn redeliver(
        &self,
        tenant: TenantId,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<Delivery, CoreError> {
        self.get(tenant, id).await?;
        self.repo
            .redeliver(tenant, id, delivery, self.clock.now_millis())
            .await?
            .ok_or(CoreError::DeliveryNotFound)
    }

    /// Delivers again every event since `since` that the outbox still keeps; how many.
    pub async fn replay(
        &self,
        tenant: TenantId,
        id: WebhookId,
        since: DateTime<Utc>,
    ) -> Result<u64, CoreError> {
        let endpoint = self.get(tenant, id).await?;
        let now = self.clock.now_millis();
        if since > now {
            return Err(CoreError::InvalidInput(
                "since is in the future: nothing has happened after it yet".into(),
            ));
        }
        Ok(self.repo.replay(&endpoint, since, now).await?)
    }

    async fn check_url(&self, url: &str) -> Result<(), CoreError> {
        check_url(url, self.allow_private).map_err(|e| CoreError::InvalidInput(e.to_string()))?;
        if !self.allow_private {
            self.sender
                .check_destination(url)
                .await
                .map_err(CoreError::InvalidInput)?;
        }
        Ok(())
    }
}

fn parse_types(types: Option<Vec<String>>) -> Result<Option<Vec<EventType>>, CoreError> {
    let Some(types) = types else {
        return Ok(None);
    };
    if types.is_empty() {
        return Err(CoreError::InvalidInput(
            "event_types is empty: omit it (or send null) to receive every type".into(),
        ));
    }
    let mut parsed = Vec::with_capacity(types.len());
    for t in &types {
        let Some(event_type) = EventType::parse(t) else {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            return Err(CoreError::InvalidInput(format!(
                "event_types: `{t}` is not an event type; the types are {}",
                known.join(", ")
            )));
        };
        if !parsed.contains(&event_type) {
            parsed.push(event_type);
        }
    }
    parsed.sort();
    Ok(Some(parsed))
}

fn check_description(description: Option<String>) -> Result<Option<String>, CoreError> {
    match description {
        Some(d) if d.chars().count() > MAX_DESCRIPTION_LEN => Err(CoreError::InvalidInput(
            format!("description is longer than {MAX_DESCRIPTION_LEN} characters"),
        )),
        Some(d) if d.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}
