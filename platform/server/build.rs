//! Bundles the three example order types (built from `plugins/` in this repository) into the
//! binary, so `trolley serve --demo` can activate them with no files around.

fn main() {
    trolley_wasm_build::emit_guest_env(&[
        "trolley-plugin-grocery",
        "trolley-plugin-food",
        "trolley-plugin-medicine",
    ]);
}
