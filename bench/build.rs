//! Builds the three example order types (from `plugins/`) so the seeder can upload them
//! over HTTP exactly as a tenant admin would, with no `.wasm` files lying around.

fn main() {
    trolley_wasm_build::emit_guest_env(&[
        "trolley-plugin-grocery",
        "trolley-plugin-food",
        "trolley-plugin-medicine",
    ]);
}
