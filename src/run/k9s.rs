//! `meshtap k9s-plugin`: the entries for k9s' `plugins.yaml` that open meshtap on the selected
//! pod, deployment or namespace (Shift-T), in k9s' own context and namespace.
//!
//! k9s substitutes `$CONTEXT`, `$NAMESPACE` and `$NAME` into each argument itself and runs the
//! command without a shell, so a name can never become shell syntax. On a namespace row k9s sets
//! `$NAME` to the namespace (and `$NAMESPACE` to nothing), hence `ns/$NAME` there.

use std::fmt::Write as _;

/// One plugin per scope, all on Shift-T.
const PLUGINS: [(&str, &str, &str, &[&str]); 3] = [
    (
        "meshtap-pod",
        "pods",
        "meshtap: live Linkerd traffic of this pod",
        &["--context", "$CONTEXT", "-n", "$NAMESPACE", "po/$NAME"],
    ),
    (
        "meshtap-deploy",
        "deployments",
        "meshtap: live Linkerd traffic of this deployment",
        &["--context", "$CONTEXT", "-n", "$NAMESPACE", "deploy/$NAME"],
    ),
    (
        "meshtap-ns",
        "namespaces",
        "meshtap: live Linkerd traffic of this namespace",
        &["--context", "$CONTEXT", "ns/$NAME"],
    ),
];

/// Prints the plugins.
pub fn print() -> std::process::ExitCode {
    print!("{}", plugins_yaml("meshtap"));
    std::process::ExitCode::SUCCESS
}

/// The YAML to merge into `$XDG_CONFIG_HOME/k9s/plugins.yaml`.
pub fn plugins_yaml(command: &str) -> String {
    let mut out = String::from(
        "# meshtap for k9s: Shift-T on a pod, deployment or namespace opens meshtap on it.\n\
         # Merge into $XDG_CONFIG_HOME/k9s/plugins.yaml (k9s info shows where it is).\n\
         plugins:\n",
    );
    for (key, scope, description, args) in PLUGINS {
        let _ = write!(
            out,
            "  {key}:\n    shortCut: Shift-T\n    description: {}\n    scopes:\n      - {scope}\n    \
             command: {}\n    background: false\n    confirm: false\n    args:\n",
            quote(description),
            quote(command)
        );
        for arg in args {
            let _ = writeln!(out, "      - {}", quote(arg));
        }
    }
    out
}

fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    /// k9s' own substitution: `$NAME` and the like replaced by the row's values, no shell.
    fn substitute(arg: &str, env: &[(&str, &str)]) -> String {
        let mut out = arg.to_owned();
        for (key, value) in env {
            out = out.replace(&format!("${key}"), value);
        }
        out
    }

    #[test]
    fn each_scope_opens_meshtap_on_its_row_in_k9s_context() {
        let docs: serde_json::Value =
            serde_saphyr::from_str(&plugins_yaml("meshtap")).expect("plugins.yaml is YAML");
        let plugins = docs["plugins"].as_object().expect("plugins");
        assert_eq!(plugins.len(), 3);
        for (scope, env, target, namespace) in [
            (
                "pods",
                [("NAMESPACE", "shop"), ("NAME", "web-1")],
                "po/web-1",
                Some("shop"),
            ),
            (
                "deployments",
                [("NAMESPACE", "shop"), ("NAME", "web")],
                "deploy/web",
                Some("shop"),
            ),
            (
                "namespaces",
                [("NAMESPACE", ""), ("NAME", "shop")],
                "ns/shop",
                None,
            ),
        ] {
            let plugin = plugins
                .values()
                .find(|p| p["scopes"][0] == scope)
                .unwrap_or_else(|| panic!("a plugin for {scope}"));
            for key in ["shortCut", "description", "scopes", "command"] {
                assert!(plugin.get(key).is_some(), "{scope}: k9s requires {key}");
            }
            assert_eq!(plugin["shortCut"], "Shift-T");
            let mut argv = vec![plugin["command"].as_str().expect("command").to_owned()];
            let mut env = env.to_vec();
            env.push(("CONTEXT", "prod-east"));
            for arg in plugin["args"].as_array().expect("args") {
                argv.push(substitute(arg.as_str().expect("string arg"), &env));
            }
            let cli = crate::cli::Cli::try_parse_from(&argv).expect("meshtap takes the arguments");
            assert_eq!(cli.tap.targets, [target], "{argv:?}");
            assert_eq!(cli.tap.context, ["prod-east"], "{argv:?}");
            assert_eq!(cli.tap.namespace.as_deref(), namespace, "{argv:?}");
        }
    }
}
