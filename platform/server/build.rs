//! Bundles the three example order types (built from `plugins/` in this repository) into the
//! binary, so `trolley serve --demo` can activate them with no files around.

fn main() {
    let packages = [
        "trolley-plugin-grocery",
        "trolley-plugin-food",
        "trolley-plugin-medicine",
    ];
    match trolley_wasm_build::build_guests(&packages) {
        Ok(guests) => {
            for guest in guests {
                let var = guest.package.to_uppercase().replace('-', "_");
                println!("cargo:rustc-env={var}_WASM={}", guest.path.display());
            }
        }
        Err(e) => {
            eprintln!("building the example plugins failed: {e}");
            std::process::exit(1);
        }
    }
}
