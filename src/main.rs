//! `docker-credential-ecr-login`: argv → library → exit code.

fn main() {
    // Before any file is opened: a closed stdout or stderr must not lend its
    // number to a cache file.
    #[cfg(unix)]
    ecr_login::safe_fs::ensure_std_fds();
    // args_os: an argument that is not UTF-8 must be a usage error, not a panic.
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = ecr_login::cli::run(
        &args,
        std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    );
    std::process::exit(code as i32);
}
