//! `docker-credential-ecr-login`: argv → library → exit code.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = ecr_login::cli::run(
        &args,
        std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    );
    std::process::exit(code as i32);
}
