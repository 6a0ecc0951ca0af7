//! `docker-credential-ecr-login`: argv and environment → library → exit code.

fn main() {
    let settings = ecr_login::settings::Settings::from_env();
    let code = ecr_login::cli::run(
        std::env::args_os().skip(1).collect(),
        &settings,
        std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    );
    std::process::exit(code.code());
}
