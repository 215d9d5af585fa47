// sqlx's `migrate!` embeds the migration files at compile time; without this, a new file
// under migrations/ is not seen until some source file changes (as sqlx's docs advise).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
