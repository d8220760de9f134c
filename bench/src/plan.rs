//! The data set's shape: the catalog layout, carts planned from a seeded generator.

use anyhow::bail;
use serde_json::{Value, json};

/// How sku names encode the catalog, shared with the Lua scripts through `data.lua`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// `G00000` … : grocery; every tenth (`i % 10 == 9`) is `cold_chain`.
    pub(crate) grocery: usize,
    /// `F{seller:02}-{j:03}`, sold by `outlet-{seller:02}`.
    pub(crate) food_sellers: usize,
    pub(crate) food_per_seller: usize,
    /// `M0000` … : medicine; `i % 20 == 0` needs a prescription (never put in a cart here),
    /// `i % 20 == 1` is age-restricted.
    pub(crate) medicine: usize,
}

impl Layout {
    pub(crate) fn new(skus: usize) -> anyhow::Result<Self> {
        if !(100..=99_999).contains(&skus) {
            bail!("--skus must be 100-99999");
        }
        let grocery = skus * 6 / 10;
        let food_sellers = 20;
        let food_per_seller = (skus / 5 / food_sellers).min(999);
        let medicine = skus - grocery - food_sellers * food_per_seller;
        Ok(Self {
            grocery,
            food_sellers,
            food_per_seller,
            medicine: medicine.min(9_999),
        })
    }

    pub(crate) fn grocery_sku(i: usize) -> String {
        format!("G{i:05}")
    }

    pub(crate) fn food_sku(seller: usize, j: usize) -> String {
        format!("F{seller:02}-{j:03}")
    }

    pub(crate) fn medicine_sku(i: usize) -> String {
        format!("M{i:04}")
    }

    pub(crate) fn items(&self) -> Vec<Value> {
        let mut items = Vec::new();
        for i in 0..self.grocery {
            let mut attributes = json!({});
            if i % 10 == 9 {
                attributes = json!({"cold_chain": "true"});
            }
            items.push(json!({
                "sku": Self::grocery_sku(i),
                "price": price(i, 50, 1_500),
                "category": "grocery",
                "title": format!("Grocery item {i}"),
                "attributes": attributes,
            }));
        }
        for seller in 0..self.food_sellers {
            for j in 0..self.food_per_seller {
                items.push(json!({
                    "sku": Self::food_sku(seller, j),
                    "price": price(seller * 1000 + j, 400, 2_500),
                    "category": "food",
                    "seller": format!("outlet-{seller:02}"),
                    "title": format!("Dish {j} of outlet {seller}"),
                }));
            }
        }
        for i in 0..self.medicine {
            let attributes = match i % 20 {
                0 => json!({"rx_required": "true"}),
                1 => json!({"age_restricted": "true"}),
                _ => json!({}),
            };
            items.push(json!({
                "sku": Self::medicine_sku(i),
                "price": price(i, 100, 4_000),
                "category": "medicine",
                "title": format!("Medicine {i}"),
                "attributes": attributes,
            }));
        }
        items
    }
}

/// A deterministic price between `min` and `min + span` cents, as a decimal string.
pub(crate) fn price(i: usize, min: usize, span: usize) -> String {
    let cents = min + (i.wrapping_mul(7_919) % span);
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// splitmix64: small, deterministic, good enough to spread a data set.
#[derive(Debug, Clone)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        let span = (hi - lo + 1) as u64;
        lo + (self.next() % span) as usize
    }
}

/// Which order type a seeded cart has, and so which skus may be added to it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Grocery,
    Food { seller: usize },
    Medicine,
}

impl Kind {
    /// The tag `data.lua` carries: `g`, `f07`, `m`.
    pub(crate) fn tag(self) -> String {
        match self {
            Kind::Grocery => "g".to_owned(),
            Kind::Food { seller } => format!("f{seller:02}"),
            Kind::Medicine => "m".to_owned(),
        }
    }
}

/// The lines one cart gets: distinct skus of its kind, quantity 1–3.
#[derive(Debug, Clone)]
pub(crate) struct CartPlan {
    pub(crate) kind: Kind,
    pub(crate) lines: Vec<(String, u32)>,
}

pub(crate) fn plan_cart(layout: &Layout, rng: &mut Rng, lines: usize, kind: Kind) -> CartPlan {
    let pool = match kind {
        Kind::Grocery => layout.grocery,
        Kind::Food { .. } => layout.food_per_seller,
        // Prescription items are left out.
        Kind::Medicine => layout.medicine - layout.medicine.div_ceil(20),
    };
    let lines = lines.min(pool);
    let mut skus: Vec<String> = Vec::with_capacity(lines);
    while skus.len() < lines {
        let sku = match kind {
            Kind::Grocery => Layout::grocery_sku(rng.range(0, layout.grocery - 1)),
            Kind::Food { seller } => {
                Layout::food_sku(seller, rng.range(0, layout.food_per_seller - 1))
            }
            Kind::Medicine => {
                let mut i = rng.range(0, layout.medicine - 1);
                if i.is_multiple_of(20) {
                    // Prescription items are refused without a prescription reference.
                    i += 2;
                }
                Layout::medicine_sku(i.min(layout.medicine - 1))
            }
        };
        if !skus.contains(&sku) {
            skus.push(sku);
        }
    }
    CartPlan {
        kind,
        lines: skus
            .into_iter()
            .map(|sku| (sku, rng.range(1, 3) as u32))
            .collect(),
    }
}

/// A small grocery cart that can check out: no cold-chain line (those need a delivery
/// slot first), quantity 1.
pub(crate) fn plan_checkout_cart(layout: &Layout, rng: &mut Rng) -> CartPlan {
    let n = rng.range(1, 3);
    let mut lines: Vec<(String, u32)> = Vec::with_capacity(n);
    while lines.len() < n {
        let mut i = rng.range(0, layout.grocery - 1);
        if i % 10 == 9 {
            i -= 1;
        }
        let sku = Layout::grocery_sku(i);
        if !lines.iter().any(|(s, _)| *s == sku) {
            lines.push((sku, 1));
        }
    }
    CartPlan {
        kind: Kind::Grocery,
        lines,
    }
}
