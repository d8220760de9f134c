//! `data.lua`: the seeded data set as the `wrk` scenarios (`bench/lua/*.lua`) load it.

use std::fmt::Write as _;

use crate::{Layout, Seeded, Tenant};

/// A Lua string literal (ids and tokens are plain ASCII; escaped anyway).
fn lua_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let _ = write!(out, "\\{}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

fn lua_carts(out: &mut String, name: &str, carts: &[Seeded]) {
    let _ = writeln!(out, "  {name} = {{");
    for c in carts {
        let _ = writeln!(
            out,
            "    {{{}, {}, {}, {}}},",
            lua_str(&c.id),
            lua_str(&c.token),
            lua_str(&c.kind.tag()),
            c.lines
        );
    }
    out.push_str("  },\n");
}

pub(crate) fn data_lua(
    tenant: &Tenant,
    layout: &Layout,
    hot: &Seeded,
    carts: &[Seeded],
    checkout: &[Seeded],
) -> String {
    let mut out = String::from(
        "-- Written by `trolley-bench seed`; loaded by bench/lua/*.lua.\n\
         -- carts: {cart_id, cart_token, kind (g | fNN | m), lines}\n\
         return {\n",
    );
    let _ = writeln!(out, "  tenant_id = {},", lua_str(&tenant.id));
    let _ = writeln!(out, "  storefront_key = {},", lua_str(&tenant.storefront));
    let _ = writeln!(
        out,
        "  layout = {{grocery = {}, food_sellers = {}, food_per_seller = {}, medicine = {}}},",
        layout.grocery, layout.food_sellers, layout.food_per_seller, layout.medicine
    );
    lua_carts(&mut out, "hot", std::slice::from_ref(hot));
    lua_carts(&mut out, "carts", carts);
    lua_carts(&mut out, "checkout", checkout);
    out.push_str("}\n");
    out
}
