// The migrations in ../../schema are embedded by `sqlx::migrate!`: rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=../../schema/sqlite");
    println!("cargo:rerun-if-changed=../../schema/postgres");
}
