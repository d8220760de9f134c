//! Builds the guest plugins the integration tests load — the three example order types and
//! the hostile fixtures — from this repository's source, and tells the tests where they are.

fn main() {
    let packages = [
        "trolley-plugin-grocery",
        "trolley-plugin-food",
        "trolley-plugin-medicine",
        "trolley-plugin-hostile",
        "trolley-plugin-wrong-world",
    ];
    match trolley_wasm_build::build_guests(&packages) {
        Ok(guests) => {
            for guest in guests {
                let var = guest.package.to_uppercase().replace('-', "_");
                println!("cargo:rustc-env={var}_WASM={}", guest.path.display());
            }
        }
        Err(e) => {
            eprintln!("building the guest plugins failed: {e}");
            std::process::exit(1);
        }
    }
}
