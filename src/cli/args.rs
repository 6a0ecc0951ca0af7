//! argv → [`Command`], with `lexopt`: options in any order, `--opt=value`
//! and `--opt value` alike. Every mistake is a [`Error::Usage`] that says
//! what was expected (the caller adds the usage text).

use crate::docker::Action;
use std::ffi::OsString;

use lexopt::prelude::*;

use crate::configure::Options as ConfigureOptions;
use crate::core::registry::Registry;
use crate::error::{Error, Result};

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A Docker credential-helper protocol action: `get`, `store`, `erase`, `list`.
    Protocol(Action),
    /// `version`, `-v`, `--version`.
    Version,
    /// `help`, `-h`, `--help`.
    Help,
    /// `cache show`.
    CacheShow,
    /// `cache clear`.
    CacheClear,
    /// `login --profile P [--force]`.
    Login {
        /// The profile.
        profile: String,
        /// Prompt even when a kept session is valid.
        force: bool,
    },
    /// `doctor HOST`.
    Doctor(String),
    /// `get-login-password HOST` (`basic_auth` false) or
    /// `authorization-token HOST` (true).
    Token {
        /// The registry host.
        host: String,
        /// Print the base64 `user:password` instead of the password.
        basic_auth: bool,
    },
    /// `kubelet`.
    Kubelet,
    /// `kubelet config`: kubelet's `CredentialProviderConfig`, from the
    /// hosts this binary accepts.
    KubeletConfig,
    /// `configure ...`.
    Configure(ConfigureOptions),
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

/// Parses the arguments after the program name.
pub fn parse(args: Vec<OsString>) -> Result<Command> {
    let mut p = lexopt::Parser::from_args(args);
    let first = match p.next().map_err(lexopt_error)? {
        None => return Err(usage("no command given")),
        Some(Short('v') | Long("version")) => {
            return no_more(&mut p, "--version", Command::Version)
        }
        Some(Short('h') | Long("help")) => return no_more(&mut p, "--help", Command::Help),
        Some(Value(v)) => v.into_string().map_err(|v| {
            usage(format!(
                "unknown command {} (not valid UTF-8)",
                shorten(&v.to_string_lossy())
            ))
        })?,
        Some(other) => return Err(usage(format!("unknown command {}", shown_arg(&other)))),
    };
    if let Some(action) = Action::named(&first) {
        return no_more(&mut p, action.name(), Command::Protocol(action));
    }
    let command = match first.as_str() {
        "version" => Command::Version,
        "help" => Command::Help,
        "kubelet" => {
            const USAGE: &str = "kubelet takes no arguments (the request comes on stdin); `kubelet config` prints kubelet's CredentialProviderConfig";
            return match one_value(&mut p).map_err(|_| usage(USAGE))?.as_deref() {
                None => Ok(Command::Kubelet),
                Some("config") => no_more(&mut p, "kubelet config", Command::KubeletConfig)
                    .map_err(|_| usage(USAGE)),
                Some(_) => Err(usage(USAGE)),
            };
        }
        "cache" => {
            return match one_value(&mut p)?.as_deref() {
                Some("show") => no_more(&mut p, "cache show", Command::CacheShow),
                Some("clear") => no_more(&mut p, "cache clear", Command::CacheClear),
                _ => Err(usage("usage: cache show | cache clear")),
            }
        }
        "login" => return login(&mut p),
        "doctor" => {
            let host = one_value(&mut p)?
                .ok_or_else(|| usage("usage: doctor HOST (one registry host)"))?;
            return no_more(&mut p, "doctor", Command::Doctor(host))
                .map_err(|_| usage("usage: doctor HOST (one registry host)"));
        }
        cmd @ ("get-login-password" | "authorization-token") => {
            let host = one_value(&mut p)?.ok_or_else(|| {
                usage(format!(
                    "{cmd} needs the registry host, e.g. {cmd} 123456789012.dkr.ecr.us-east-1.amazonaws.com"
                ))
            })?;
            let token = Command::Token {
                host,
                basic_auth: cmd == "authorization-token",
            };
            return no_more(&mut p, cmd, token)
                .map_err(|_| usage(format!("{cmd} takes one argument, the registry host")));
        }
        "configure" => return configure(&mut p).map(Command::Configure),
        other => return Err(usage(format!("unknown command {}", shorten(other)))),
    };
    no_more(&mut p, &first, command)
}

/// `command` if nothing follows, else "NAME takes no arguments".
fn no_more(p: &mut lexopt::Parser, name: &str, command: Command) -> Result<Command> {
    match p.next().map_err(lexopt_error)? {
        None => Ok(command),
        Some(_) => Err(usage(format!("{name} takes no arguments"))),
    }
}

/// The next positional value, if the next argument is one.
fn one_value(p: &mut lexopt::Parser) -> Result<Option<String>> {
    match p.next().map_err(lexopt_error)? {
        None => Ok(None),
        Some(Value(v)) => v
            .into_string()
            .map(Some)
            .map_err(|_| usage("an argument is not valid UTF-8")),
        Some(other) => Err(usage(format!("unexpected option {}", shown_arg(&other)))),
    }
}

fn login(p: &mut lexopt::Parser) -> Result<Command> {
    const USAGE: &str = "usage: login --profile PROFILE [--force]";
    let (mut profile, mut force) = (None, false);
    while let Some(arg) = p.next().map_err(lexopt_error)? {
        match arg {
            Long("profile") | Short('p') => {
                let value = p.value().map_err(lexopt_error)?;
                profile = Some(
                    value
                        .into_string()
                        .map_err(|_| usage("the profile name is not valid UTF-8"))?,
                );
            }
            Long("force") | Short('f') => force = true,
            other => {
                return Err(usage(format!(
                    "{USAGE} ({} is not an option of login)",
                    shown_arg(&other)
                )))
            }
        }
    }
    match profile.filter(|p| !p.trim().is_empty()) {
        Some(profile) => Ok(Command::Login { profile, force }),
        None => Err(usage(USAGE)),
    }
}

fn configure(p: &mut lexopt::Parser) -> Result<ConfigureOptions> {
    let mut opts = ConfigureOptions::default();
    while let Some(arg) = p.next().map_err(lexopt_error)? {
        match arg {
            Long("store") => opts.store = true,
            Long("podman") => opts.podman = true,
            Long("dry-run") | Short('n') => opts.dry_run = true,
            Long("from-aws-config") => opts.from_aws_config = true,
            Long("fallback") => {
                let value = p.value().map_err(|_| {
                    usage("--fallback needs a value: --fallback NAME (e.g. desktop)")
                })?;
                let name = value
                    .into_string()
                    .map_err(|_| usage("the fallback is not valid UTF-8"))?;
                crate::core::regmap::check_helper_name(&name).map_err(usage)?;
                opts.fallback = Some(name);
            }
            Long("registry") | Short('r') => {
                let value = p
                    .value()
                    .map_err(|_| usage("--registry needs a value: --registry HOST"))?;
                let value = value
                    .into_string()
                    .map_err(|_| usage("the registry is not valid UTF-8"))?;
                let host = Registry::parse(&value)?.host().to_string();
                if !opts.registries.contains(&host) {
                    opts.registries.push(host);
                }
            }
            other => {
                return Err(usage(format!(
                    "configure: unknown option {}",
                    shown_arg(&other)
                )))
            }
        }
    }
    if opts.registries.is_empty() && !opts.store && opts.fallback.is_none() && !opts.from_aws_config
    {
        return Err(usage(
            "configure needs --registry HOST (repeatable), --store, --fallback NAME or --from-aws-config",
        ));
    }
    if opts.podman && opts.fallback.is_some() {
        return Err(usage(
            "--fallback does not apply to --podman: containers-auth.json has no credsStore to fall back from",
        ));
    }
    if opts.podman && opts.store {
        return Err(usage(
            "--store does not apply to --podman: containers-auth.json has no credsStore; use --registry HOST, or credential-helpers in registries.conf",
        ));
    }
    Ok(opts)
}

fn lexopt_error(e: lexopt::Error) -> Error {
    usage(crate::support::redact::escape_controls(&e.to_string()))
}

fn shown_arg(arg: &lexopt::Arg<'_>) -> String {
    match arg {
        Short(c) => shorten(&format!("-{c}")),
        Long(l) => shorten(&format!("--{l}")),
        Value(v) => shorten(&v.to_string_lossy()),
    }
}

/// `"abc…"`: an argument quoted for a message, escaped and cut to 64 characters.
pub fn shorten(arg: &str) -> String {
    let escaped: String = arg.escape_debug().collect();
    match escaped.char_indices().nth(64) {
        Some((cut, _)) => format!("\"{}…\" ({} bytes)", &escaped[..cut], arg.len()),
        None => format!("\"{escaped}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Command> {
        parse(args.iter().map(OsString::from).collect())
    }

    fn err(args: &[&str]) -> String {
        parse_str(args).unwrap_err().to_string()
    }

    #[test]
    fn commands_and_options_in_any_order() {
        let login = |profile: &str, force| Command::Login {
            profile: profile.into(),
            force,
        };
        assert_eq!(parse_str(&["get"]).unwrap(), Command::Protocol(Action::Get));
        assert_eq!(parse_str(&["--version"]).unwrap(), Command::Version);
        assert_eq!(parse_str(&["-h"]).unwrap(), Command::Help);
        assert_eq!(
            parse_str(&["login", "--profile", "P"]).unwrap(),
            login("P", false)
        );
        assert_eq!(
            parse_str(&["login", "--force", "--profile", "P"]).unwrap(),
            login("P", true)
        );
        assert_eq!(
            parse_str(&["login", "--profile=P", "-f"]).unwrap(),
            login("P", true)
        );
        assert_eq!(parse_str(&["cache", "show"]).unwrap(), Command::CacheShow);
        let Command::Configure(o) = parse_str(&[
            "configure",
            "--registry=123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "-n",
            "-r",
            "https://123456789012.DKR.ecr.us-east-1.amazonaws.com/x",
        ])
        .unwrap() else {
            panic!("not configure")
        };
        assert_eq!(
            o.registries,
            ["123456789012.dkr.ecr.us-east-1.amazonaws.com"]
        );
        assert!(o.dry_run && !o.store);
        let Command::Configure(o) =
            parse_str(&["configure", "--fallback", "desktop", "--from-aws-config"]).unwrap()
        else {
            panic!("not configure")
        };
        assert_eq!(o.fallback.as_deref(), Some("desktop"));
        assert!(o.from_aws_config && o.registries.is_empty());
    }

    #[test]
    fn mistakes_say_what_was_expected() {
        assert_eq!(err(&[]), "no command given");
        assert!(err(&["get", "x"]).contains("get takes no arguments"));
        assert!(err(&["frobnicate"]).contains("unknown command \"frobnicate\""));
        assert!(err(&["login"]).contains("usage: login --profile"));
        assert!(err(&["login", "--profile"]).contains("--profile"));
        assert!(err(&["cache"]).contains("cache show | cache clear"));
        assert!(err(&["doctor"]).contains("doctor HOST"));
        assert!(err(&["doctor", "a", "b"]).contains("doctor HOST"));
        assert!(err(&["get-login-password"]).contains("needs the registry host"));
        assert!(err(&["authorization-token", "a", "b"]).contains("takes one argument"));
        assert!(err(&["kubelet", "x"]).contains("kubelet takes no arguments"));
        assert!(err(&["kubelet", "config", "x"]).contains("`kubelet config`"));
        assert_eq!(
            parse_str(&["kubelet", "config"]).unwrap(),
            Command::KubeletConfig
        );
        assert!(err(&["configure"]).contains("--registry HOST"));
        assert!(err(&["configure", "--bogus"]).contains("unknown option"));
        assert!(err(&["configure", "--podman", "--store"]).contains("does not apply"));
        assert!(err(&["configure", "--podman", "--fallback=pass"]).contains("does not apply"));
        assert!(err(&["configure", "--fallback"]).contains("--fallback NAME"));
        assert!(err(&["configure", "--fallback", "/bin/sh"]).contains("credential-helper name"));
        assert!(err(&["configure", "--fallback", "ecr-login"]).contains("this helper itself"));
        assert!(err(&["configure", "--registry", "ghcr.io"]).contains("not an ECR"));
        let long = "x".repeat(1000);
        assert!(err(&[&long]).len() < 200);
    }
}
