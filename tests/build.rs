//! Builds the guest plugins the integration tests load — the three example order types and
//! the hostile fixtures — from this repository's source, and tells the tests where they are.

fn main() {
    trolley_wasm_build::emit_guest_env(&[
        "trolley-plugin-grocery",
        "trolley-plugin-food",
        "trolley-plugin-medicine",
        "trolley-plugin-hostile",
        "trolley-plugin-wrong-world",
        "trolley-plugin-contract-v1-0",
    ]);
}
