//! Builds the three example order types (from `plugins/`) so the seeder can upload them
//! over HTTP exactly as a tenant admin would, with no `.wasm` files lying around.

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
