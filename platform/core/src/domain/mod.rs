//! The pure model: values that are valid once parsed, and aggregates whose mutations return
//! the new state plus the events that happened.

pub mod audit;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod claim;
pub mod credentials;
pub mod event;
pub mod ids;
pub mod inventory;
pub mod judged;
pub mod lifecycle;
pub mod line_key;
pub mod listing;
pub mod merge;
pub mod money;
pub mod plugin;
mod plugin_run;
pub mod quantity;
pub mod rate_limit;
pub mod receipt;
pub mod rejection;
pub mod secret;
pub mod tenant;
pub mod view;
pub mod webhook;

pub use audit::{Actor, AuditAction, AuditEntry, AuditPage};
pub use cart::{
    Cart, CartEvent, CartOwner, CartStatus, Changed, Line, RemovedLine, Replaced, ReviewSide,
};
pub use catalog::{CatalogItem, CatalogItemInput, CatalogQuery, ClaimPolicy, ShopItem, StockClass};
pub use checkout::{
    Checkout, CheckoutId, CheckoutSnapshot, CheckoutStatus, Order, OrderId, Shortage,
};
pub use credentials::{ApiKeyInfo, CustomerTokenSecret, KeyKind, KeyName};
pub use event::{Event, EventType, NewEvent, Subject, SubjectKind};
pub use ids::{CartId, DeliveryId, LineId, PluginRunId, TenantId, WebhookId};
pub use inventory::{StockLevel, WantedHold};
pub use judged::{Judged, Question};
pub use line_key::{Attributes, LineKey, Sku};
pub use money::{Currency, Price};
pub use plugin::{
    Activation, CallReport, Evaluation, FulfillmentRules, LogLevel, PluginCall, PluginCart,
    PluginContract, PluginError, PluginId, PluginInfo, PluginLimits, PluginLine, PluginLog,
    PluginRecord,
};
pub use plugin_run::{
    DryRun, PluginRun, RunFailure, RunPlugin, RunQuery, RunTrigger, TrialCart, TrialFailure,
    TrialOutcome,
};
pub use quantity::{CartLimits, Quantity};
pub use rate_limit::{RateDecision, RateLimit, TokenBucket, decide, take_all};
pub use receipt::{Receipt, Replay, Seal};
pub use tenant::{MergePolicy, PluginFailMode, Tenant, TenantConfig, TenantStatus};
pub use view::{
    Availability, CartView, Fee, Judgement, LineView, PricedBy, Severity, StockView, Violation,
};
pub use webhook::{Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint, WebhookSecret};
