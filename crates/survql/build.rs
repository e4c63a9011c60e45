//! Records the commit the binary is built from: cluster processes compare it (with the
//! state format) to refuse workers of another build.
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SURVQL_BUILD_COMMIT={commit}");
    // Rebuild when HEAD moves (a commit, a checkout).
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        let head_ref = git(&["symbolic-ref", "-q", "HEAD"]);
        for file in [
            Some("HEAD".to_owned()),
            head_ref,
            Some("packed-refs".to_owned()),
        ]
        .into_iter()
        .flatten()
        {
            // A path that does not exist would rerun the script on every build.
            let path = format!("{dir}/{file}");
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
