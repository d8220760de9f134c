//! The catalog item form: what the edit and add forms show, and how a submitted one is read
//! and checked field by field, so each error lands beside its own field.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use maud::{Markup, html};
use rust_decimal::Decimal;
use trolley_api::dto::catalog::CatalogItemRequest;
use trolley_core::domain::{CatalogItem, CatalogItemInput, ClaimPolicy, Currency, Price, Sku};
use trolley_core::error::CoreError;

use crate::page::field_error;
use crate::session::Fields;

/// An item form as shown: what was typed (or stored), and what was wrong with it, by field.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct ItemForm {
    pub(super) sku: String,
    pub(super) price: String,
    pub(super) category: String,
    pub(super) title: String,
    pub(super) claim: String,
    /// Field name → message; `_` for what belongs to no one field.
    pub(super) errors: BTreeMap<&'static str, String>,
}

impl ItemForm {
    pub(super) fn of(item: &CatalogItem) -> Self {
        Self {
            sku: item.sku.to_string(),
            price: item.price.amount().to_string(),
            category: item.category.clone(),
            title: item.title.clone().unwrap_or_default(),
            claim: item
                .claim_policy
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            errors: BTreeMap::new(),
        }
    }

    pub(super) fn submitted(fields: &Fields, sku: &str) -> Self {
        let get = |name| fields.get(name).unwrap_or_default().to_owned();
        Self {
            sku: sku.to_owned(),
            price: get("price"),
            category: get("category"),
            title: get("title"),
            claim: get("claim_policy"),
            errors: BTreeMap::new(),
        }
    }

    pub(super) fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

/// Reads an item form. `keep` is the stored item whose seller and attributes the console
/// does not edit, so saving the form keeps them. Every field is checked, so each error
/// shows beside its own field at once; what is left is checked by the API's own parsing.
pub(super) fn read_item(
    fields: &Fields,
    sku: &str,
    currency: Currency,
    keep: Option<&CatalogItem>,
) -> Result<CatalogItemInput, Box<ItemForm>> {
    let mut form = ItemForm::submitted(fields, sku);
    if let Err(CoreError::InvalidInput(why)) = Sku::parse(sku) {
        form.errors.insert("sku", why);
    }
    let price = match fields.non_empty("price") {
        None => Err(format!("Enter a price, e.g. 12.50 ({currency}).")),
        Some(raw) => match Decimal::from_str(raw) {
            Err(_) => Err(format!(
                "“{raw}” is not a price: use digits and a dot, e.g. 12.50."
            )),
            Ok(amount) => Price::parse(amount, currency)
                .map(|p| p.amount())
                .map_err(|e| e.to_string()),
        },
    };
    let price = match price {
        Ok(amount) => amount,
        Err(why) => {
            form.errors.insert("price", why);
            Decimal::ZERO
        }
    };
    let category = fields.non_empty("category");
    if category.is_none() {
        form.errors.insert("category", "Enter a category.".into());
    }
    let claim = match fields.non_empty("claim_policy") {
        None => None,
        Some(raw) => {
            let parsed = ClaimPolicy::parse(raw);
            if parsed.is_none() {
                form.errors.insert(
                    "claim_policy",
                    "Choose interest, soft, reserve or the tenant default.".into(),
                );
            }
            parsed
        }
    };
    if !form.errors.is_empty() {
        return Err(Box::new(form));
    }
    CatalogItemRequest {
        price,
        category: category.unwrap_or_default().to_owned(),
        seller: keep.and_then(|k| k.seller.clone()),
        attributes: keep
            .map(|k| k.attributes.as_map().clone())
            .unwrap_or_default(),
        claim_policy: claim.map(Into::into),
        title: fields.non_empty("title").map(str::to_owned),
    }
    .parse(sku, currency)
    .map_err(|e| {
        let why = e.to_string();
        let field = ["category", "title"]
            .into_iter()
            .find(|f| why.starts_with(f))
            .unwrap_or("_");
        form.errors.insert(field, why);
        Box::new(form)
    })
}

/// The item fields both forms share.
pub(super) fn item_fields(
    prefix: &str,
    form: &ItemForm,
    currency: Currency,
    default: ClaimPolicy,
) -> Markup {
    let id = |name: &str| format!("{prefix}-{name}");
    let invalid = |name: &str| form.error(name).map(|_| "true");
    let described = |name: &str| form.error(name).map(|_| format!("{}-error", id(name)));
    html! {
        div.field {
            label for=(id("price")) { "Price (" (currency) ")" }
            input id=(id("price")) type="text" name="price" inputmode="decimal" required value=(form.price)
                aria-invalid=[invalid("price")] aria-describedby=[described("price")];
            (field_error(&id("price"), form.error("price")))
        }
        div.field {
            label for=(id("category")) { "Category" }
            input id=(id("category")) type="text" name="category" required maxlength="64" value=(form.category)
                aria-invalid=[invalid("category")] aria-describedby=[described("category")];
            (field_error(&id("category"), form.error("category")))
        }
        div.field {
            label for=(id("claim")) { "Claim policy" }
            select id=(id("claim")) name="claim_policy"
                aria-invalid=[invalid("claim_policy")] aria-describedby=[described("claim_policy")] {
                option value="" selected[form.claim.is_empty()] { "Tenant default (" (default.as_str()) ")" }
                @for c in [ClaimPolicy::Interest, ClaimPolicy::Soft, ClaimPolicy::Reserve] {
                    option value=(c.as_str()) selected[form.claim == c.as_str()] { (c.as_str()) }
                }
            }
            p.hint { "interest: stock checked at checkout only · soft: shown, not held · reserve: held while in the cart" }
            (field_error(&id("claim"), form.error("claim_policy")))
        }
        div.field {
            label for=(id("title")) { "Title " span.muted { "(optional)" } }
            input id=(id("title")) type="text" name="title" maxlength="200" value=(form.title)
                aria-invalid=[invalid("title")] aria-describedby=[described("title")];
            (field_error(&id("title"), form.error("title")))
        }
        @if let Some(why) = form.error("_") { p.field-error role="alert" { (why) } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_good_item_form_reads_as_the_api_would() {
        let input = read_item(
            &fields(&[
                ("price", "12.50"),
                ("category", "dairy"),
                ("claim_policy", "reserve"),
                ("title", ""),
            ]),
            "milk-1l",
            Currency::Usd,
            None,
        )
        .unwrap();
        assert_eq!(input.price.amount(), Decimal::new(1250, 2));
        assert_eq!(input.claim_policy, Some(ClaimPolicy::Reserve));
        assert_eq!(input.title, None);
    }

    #[test]
    fn bad_prices_are_named_beside_the_price() {
        for (raw, says) in [
            ("-1", "negative"),
            ("abc", "is not a price"),
            ("1.234", "decimal places"),
            ("", "Enter a price"),
        ] {
            let form = read_item(
                &fields(&[("price", raw), ("category", "dairy")]),
                "milk",
                Currency::Usd,
                None,
            )
            .unwrap_err();
            assert!(
                form.error("price").unwrap().contains(says),
                "{raw}: {form:?}"
            );
            assert_eq!(form.price, raw, "what was typed is shown again");
        }
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let form = read_item(
            &fields(&[("price", "x"), ("claim_policy", "hoard")]),
            "bad sku",
            Currency::Usd,
            None,
        )
        .unwrap_err();
        for field in ["sku", "price", "category", "claim_policy"] {
            assert!(form.error(field).is_some(), "{field}: {form:?}");
        }
    }

    #[test]
    fn an_edit_keeps_the_seller_and_attributes_it_does_not_show() {
        let mut attrs = BTreeMap::new();
        attrs.insert("colour".to_owned(), "red".to_owned());
        let stored = CatalogItem {
            sku: Sku::parse("shirt").unwrap(),
            price: Price::parse(Decimal::ONE, Currency::Usd).unwrap(),
            price_revision: 1,
            category: "apparel".into(),
            seller: Some("acme".into()),
            attributes: trolley_core::domain::Attributes::parse(attrs).unwrap(),
            claim_policy: None,
            title: None,
            updated_at: chrono::Utc::now(),
        };
        let input = read_item(
            &fields(&[("price", "2"), ("category", "apparel")]),
            "shirt",
            Currency::Usd,
            Some(&stored),
        )
        .unwrap();
        assert_eq!(input.seller.as_deref(), Some("acme"));
        assert_eq!(input.attributes, stored.attributes);
    }
}
