//! How meshtap is invoked: as itself, as the kubectl plugin `kubectl-meshtap` (the same CLI), or
//! as the Linkerd extension `linkerd-meshtap` (Linkerd's extension protocol: `install`,
//! `uninstall`, `check`); plus the completion scripts and man page generated from the CLI.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

mod pflag;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::cli::{CheckOutput, Cli};

/// What `linkerd meshtap install` prints: the Namespace labelled `linkerd.io/extension=meshtap`
/// and the RBAC a team needs.
pub const INSTALL_MANIFEST: &str = include_str!("../../assets/extension/install.yaml");
/// What `linkerd meshtap uninstall` prints, for `kubectl delete -f -`.
pub const UNINSTALL_MANIFEST: &str = include_str!("../../assets/extension/uninstall.yaml");

/// What the process was asked to do.
#[derive(Debug)]
pub enum Invocation {
    Meshtap(Box<Cli>),
    /// A manifest to print (`linkerd-meshtap install|uninstall`).
    Manifest(&'static str),
}

/// Reads the command line, choosing the protocol by the name the binary was run as.
/// Parse errors and `--help` exit the process, as clap does.
pub fn invocation(args: Vec<OsString>) -> Invocation {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("meshtap")
        .to_owned();
    match name.as_str() {
        "linkerd-meshtap" => {
            // Linkerd writes its flags the way Go's pflag prints them (`--verbose=false`).
            let mut command = ExtensionCli::command();
            command.build();
            let normalized = pflag::normalize(&command, args);
            if !normalized.ignored.is_empty() {
                eprintln!(
                    "meshtap: check: ignoring flags meshtap does not know: {}",
                    normalized.ignored.join(" ")
                );
            }
            linkerd(ExtensionCli::parse_from(normalized.args))
        }
        "kubectl-meshtap" => {
            let matches = Cli::command()
                .bin_name("kubectl meshtap")
                .get_matches_from(args);
            Invocation::Meshtap(Box::new(
                Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()),
            ))
        }
        _ => Invocation::Meshtap(Box::new(Cli::parse_from(args))),
    }
}

/// `linkerd meshtap …`: the flags every Linkerd extension accepts (Linkerd passes its own
/// global flags through), then `install`, `uninstall` or `check`.
#[derive(Debug, Parser)]
#[command(
    name = "linkerd-meshtap",
    bin_name = "linkerd meshtap",
    version = crate::cli::VERSION,
    about = "meshtap as a Linkerd extension: install/uninstall print its RBAC, check checks what it needs"
)]
pub struct ExtensionCli {
    /// Accepted for Linkerd's protocol; meshtap always reaches the API server the kubeconfig names.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub api_addr: Option<String>,
    /// Kubeconfig context (several: A,B).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Act as this user.
    #[arg(long = "as", global = true, value_name = "USER")]
    pub impersonate: Option<String>,
    /// Act as a member of this group (repeatable).
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub impersonate_groups: Vec<String>,
    /// Path to the kubeconfig file.
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<OsString>,
    /// Namespace of Linkerd's control plane (meshtap needs only viz's tap API and metrics API).
    #[arg(short = 'L', long, global = true, default_value = "linkerd")]
    pub linkerd_namespace: String,
    /// Accepted for Linkerd's protocol.
    #[arg(long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: ExtensionCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExtensionCommand {
    /// Print the RBAC meshtap needs (a labelled namespace, a cluster role, a role binding example).
    Install,
    /// Print what `install` created, for `kubectl delete -f -`.
    Uninstall,
    /// `meshtap check` (Linkerd runs `linkerd-meshtap check -o json` from `linkerd check`).
    Check {
        #[arg(short, long, value_enum, default_value_t = CheckOutput::Table)]
        output: CheckOutput,
        /// Namespace whose RBAC to check.
        #[arg(short, long)]
        namespace: Option<String>,
        /// Also open a short test tap.
        #[arg(long)]
        tap_test: bool,
        /// Accepted for Linkerd's protocol (pre-install checks, proxy checks, wait time as a Go
        /// duration such as 5m0s); meshtap's checks are the same either way.
        #[arg(long)]
        pre: bool,
        #[arg(long)]
        proxy: bool,
        #[arg(long, value_name = "DURATION", value_parser = pflag::go_duration)]
        wait: Option<std::time::Duration>,
    },
}

fn linkerd(ext: ExtensionCli) -> Invocation {
    let (output, namespace, tap_test) = match ext.command {
        ExtensionCommand::Install => return Invocation::Manifest(INSTALL_MANIFEST),
        ExtensionCommand::Uninstall => return Invocation::Manifest(UNINSTALL_MANIFEST),
        ExtensionCommand::Check {
            output,
            namespace,
            tap_test,
            ..
        } => (output, namespace, tap_test),
    };
    // `meshtap check` with the same flags: one definition of what check means.
    let mut args: Vec<OsString> = vec!["meshtap".into(), "check".into()];
    let output = match output {
        CheckOutput::Json => "json",
        CheckOutput::Table => "table",
    };
    args.extend(["-o".into(), output.into()]);
    let pairs = [
        ("--context", ext.context.map(OsString::from)),
        ("--as", ext.impersonate.map(OsString::from)),
        ("--kubeconfig", ext.kubeconfig),
        ("--namespace", namespace.map(OsString::from)),
    ];
    for (flag, value) in pairs {
        if let Some(value) = value {
            args.extend([flag.into(), value]);
        }
    }
    for group in ext.impersonate_groups {
        args.extend(["--as-group".into(), group.into()]);
    }
    if tap_test {
        args.push("--tap-test".into());
    }
    Invocation::Meshtap(Box::new(Cli::parse_from(args)))
}

/// `meshtap completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    write_stdout(&completion_script(shell))
}

/// Tap target kinds offered where a TARGET may go (bash).
const TARGET_KINDS: &str = "deploy/ po/ ns/ sts/ ds/ job/ cronjob/ rs/ rc/";

/// The completion script clap generates from the command definitions. For bash it is wrapped so
/// `--context` completes the kubeconfig's contexts (through kubectl, when it is installed) and a
/// target position offers the resource kinds: `clap_complete`'s dynamic completion is still
/// unstable, so this is the documented best effort.
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "meshtap", &mut out);
    if shell == clap_complete::Shell::Bash {
        out.extend_from_slice(
            format!(
                r#"
_meshtap_dynamic() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    if [[ "$prev" == --context ]]; then
        COMPREPLY=($(compgen -W "$(kubectl config get-contexts -o name 2>/dev/null)" -- "$cur"))
        return 0
    fi
    _meshtap "$@"
    if [[ "$cur" != -* && "$prev" != -* ]]; then
        COMPREPLY+=($(compgen -W "{TARGET_KINDS}" -- "$cur"))
        compopt -o nospace 2>/dev/null
    fi
}}
complete -F _meshtap_dynamic -o bashdefault -o default meshtap kubectl-meshtap
"#
            )
            .as_bytes(),
        );
    }
    out
}

/// `meshtap man`: the man page in roff.
pub fn man() -> anyhow::Result<ExitCode> {
    write_stdout(&man_page()?)
}

/// The man page `clap_mangen` renders from the command definitions.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    super::stdout::print(bytes)?;
    Ok(ExitCode::SUCCESS)
}
